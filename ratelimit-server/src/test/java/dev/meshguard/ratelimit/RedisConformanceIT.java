package dev.meshguard.ratelimit;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisExtension;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole {@link ConformanceTest} table on a real standalone Redis. */
class RedisConformanceIT extends ConformanceTest {

  /** Generous: the machine running the tests may be busy; the fault tests use short timeouts. */
  static final RedisOptions TEST_OPTIONS = RedisOptions.DEFAULTS.withCommandTimeout(Duration.ofSeconds(5));

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone();

  private static RedisStore store;

  @BeforeAll
  static void connect() {
    store = RedisStore.connect(StoreUri.parse(redis.uri()), TEST_OPTIONS);
  }

  @AfterAll
  static void close() {
    store.close();
  }

  @Override
  CounterStore store(ManualClock clock) {
    return new CaseScopedStore(store, UUID.randomUUID() + "/");
  }
}

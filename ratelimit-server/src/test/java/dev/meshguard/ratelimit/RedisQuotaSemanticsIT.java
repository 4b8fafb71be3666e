package dev.meshguard.ratelimit;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link QuotaSemantics} on a real Redis: the same answers as the memory store. */
class RedisQuotaSemanticsIT extends QuotaSemantics {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone().flushingBeforeEach();

  @Override
  CounterStore newStore(ManualClock clock) {
    return RedisStore.connect(StoreUri.parse(redis.uri()), RedisConformanceIT.TEST_OPTIONS);
  }
}

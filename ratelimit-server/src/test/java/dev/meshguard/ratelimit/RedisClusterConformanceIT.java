package dev.meshguard.ratelimit;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisClusterExtension;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole {@link ConformanceTest} table on a real six-node Redis Cluster (three masters, three
 * replicas): multi-descriptor cases spread their counters over slots and nodes.
 */
class RedisClusterConformanceIT extends ConformanceTest {

  @RegisterExtension
  static final RedisClusterExtension cluster = RedisClusterExtension.threeMastersThreeReplicas();

  private static RedisStore store;

  @BeforeAll
  static void connect() {
    store = RedisStore.connect(clusterUri(cluster), RedisConformanceIT.TEST_OPTIONS);
  }

  @AfterAll
  static void close() {
    store.close();
  }

  static StoreUri clusterUri(RedisClusterExtension cluster) {
    return StoreUri.parse("redis-cluster://" + cluster.seedUris().stream()
        .map(u -> u.getHost() + ":" + u.getPort()).collect(Collectors.joining(",")));
  }

  @Override
  CounterStore store(ManualClock clock) {
    return new CaseScopedStore(store, UUID.randomUUID() + "/");
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.redis.ClusterNode;
import dev.meshguard.testkit.redis.RedisClusterExtension;
import dev.meshguard.testkit.redis.RedisSentinel;
import dev.meshguard.testkit.redis.RedisSentinelExtension;
import dev.meshguard.testkit.redis.RedisServerProcess;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A master dies under load, on Sentinel and on Cluster: the service answers every call (by the
 * failure mode while there is no master for a counter, within the timeout), and decides with
 * Redis again once a replica has taken over, without a restart.
 */
class RedisFailoverIT {

  @RegisterExtension
  static final RedisSentinelExtension sentinel = new RedisSentinelExtension();

  @RegisterExtension
  static final RedisClusterExtension cluster = RedisClusterExtension.threeMastersThreeReplicas();

  /** After a failover, the store must decide with Redis again within this. */
  static final Duration RECOVERY = Duration.ofSeconds(30);

  @Test
  void sentinelFailoverUnderLoad() throws Exception {
    RedisSentinel setUp = sentinel.sentinel();
    try (RedisStore store = RedisStore.connect(StoreUri.parse(setUp.uri()), RedisFaultsIT.OPTIONS)) {
      assertThat(store.connected()).isTrue();
      RateLimitEngine engine = RedisFaultsIT.engine(store, FailureMode.ALLOW);
      try (Load load = new Load(engine, "d", RedisFaultsIT.requests(), 4)) {
        load.awaitHealthy();

        long killedAt = System.nanoTime();
        RedisServerProcess old = setUp.killMaster();
        RedisServerProcess promoted = setUp.awaitFailover(old);
        long failedOverAt = System.nanoTime();
        Await.until(RECOVERY, () -> load.since(failedOverAt).stream().anyMatch(a -> !a.storeFailed()),
            () -> "a decision by the new master " + promoted);
        report("sentinel", load, killedAt, failedOverAt);
        RedisFaultsIT.assertAnsweredInTime(load.since(killedAt), FailureMode.ALLOW);
        setUp.restart(old);
      }
    }
  }

  @Test
  void clusterMasterFailoverUnderLoad() throws Exception {
    try (RedisStore store = RedisStore.connect(RedisClusterConformanceIT.clusterUri(cluster),
        RedisFaultsIT.OPTIONS.withClusterRefreshPeriod(Duration.ofSeconds(2)))) {
      RateLimitEngine engine = RedisFaultsIT.engine(store, FailureMode.ALLOW);
      try (Load load = new Load(engine, "d", RedisFaultsIT.requests(), 4)) {
        load.awaitHealthy();

        ClusterNode victim = cluster.masters().getFirst();
        long killedAt = System.nanoTime();
        cluster.kill(victim);
        ClusterNode promoted = cluster.awaitFailover(victim);
        long failedOverAt = System.nanoTime();
        // Every request touches counters on every master (16 values, two descriptors each): once they
        // all succeed again, the store has found the new master.
        Await.until(RECOVERY, () -> load.since(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(500)).stream()
            .filter(a -> a.startedNanos() > failedOverAt).count() > 20
            && load.since(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(500)).stream()
                .noneMatch(Load.Answer::storeFailed), () -> "decisions by the promoted master " + promoted);
        report("cluster", load, killedAt, failedOverAt);
        RedisFaultsIT.assertAnsweredInTime(load.since(killedAt), FailureMode.ALLOW);
      }
    }
  }

  private static void report(String what, Load load, long killedAt, long failedOverAt) {
    List<Load.Answer> after = load.since(killedAt);
    long lastFailure = after.stream().filter(Load.Answer::storeFailed).mapToLong(Load.Answer::startedNanos).max()
        .orElse(killedAt);
    System.out.printf("%s failover: Redis replaced the master in %d ms; the store decided with Redis again %d ms"
        + " after the kill; %s%n", what, TimeUnit.NANOSECONDS.toMillis(failedOverAt - killedAt),
        TimeUnit.NANOSECONDS.toMillis(lastFailure - killedAt), RedisFaultsIT.summary(after));
  }
}

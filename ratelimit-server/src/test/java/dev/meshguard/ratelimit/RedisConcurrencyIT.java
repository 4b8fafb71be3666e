package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several meshguard replicas (engines, each with its own Redis connection) and several threads
 * each hammer one counter on one Redis. All share one {@link ManualClock}, so each round happens
 * at one instant and the exact number the algorithm allows then is known: concurrency must never
 * let more (or fewer) through than one caller alone would get.
 */
class RedisConcurrencyIT {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone();

  static final int REPLICAS = 3;
  static final int THREADS_PER_REPLICA = 4;
  static final int REQUESTS_PER_THREAD = 60;

  static final List<RedisStore> stores = new ArrayList<>();
  static ExecutorService pool;

  @BeforeAll
  static void start() {
    for (int i = 0; i < REPLICAS; i++) {
      stores.add(RedisStore.connect(StoreUri.parse(redis.uri()), RedisConformanceIT.TEST_OPTIONS));
    }
    pool = Executors.newFixedThreadPool(REPLICAS * THREADS_PER_REPLICA);
  }

  @AfterAll
  static void stop() {
    pool.shutdownNow();
    stores.forEach(RedisStore::close);
  }

  /** Every thread of every replica sends its requests at once; returns how many were admitted. */
  private static long round(List<RateLimitEngine> engines, String value) throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Long>> results = new ArrayList<>();
    List<Descriptor> request = List.of(Descriptor.of("k", value));
    for (RateLimitEngine engine : engines) {
      for (int t = 0; t < THREADS_PER_REPLICA; t++) {
        Callable<Long> worker = () -> {
          go.await();
          long admitted = 0;
          for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
            RateLimitDecision decision = engine.decide("d", request, 1);
            assertThat(decision.storeFailed()).isFalse();
            if (decision.overallCode() == Code.OK) {
              admitted++;
            }
          }
          return admitted;
        };
        results.add(pool.submit(worker));
      }
    }
    go.countDown();
    long admitted = 0;
    for (Future<Long> f : results) {
      admitted += f.get();
    }
    return admitted;
  }

  private static List<RateLimitEngine> engines(String yaml, ManualClock clock) throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", yaml);
    List<RateLimitEngine> engines = new ArrayList<>();
    for (RedisStore store : stores) {
      engines.add(new RateLimitEngine(() -> config, store, clock, FailureMode.ALLOW));
    }
    return engines;
  }

  @Test
  void fixedWindowAdmitsExactlyTheLimitPerWindow() throws Exception {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    List<RateLimitEngine> engines = engines("""
        domain: d
        descriptors:
          - key: k
            rate_limit: {unit: second, requests_per_unit: 100}
        """, clock);
    for (int window = 0; window < 3; window++) {
      assertThat(round(engines, "fixed")).as("window %d", window).isEqualTo(100);
      clock.advance(Duration.ofSeconds(1));
    }
  }

  @Test
  void slidingWindowAdmitsExactlyWhatTheWeightedCountLeaves() throws Exception {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L)); // a multiple of 10 s
    List<RateLimitEngine> engines = engines("""
        domain: d
        descriptors:
          - key: k
            rate_limit: {unit: second, requests_per_unit: 100, algorithm: sliding_window, window: 10s}
        """, clock);
    assertThat(round(engines, "sliding")).isEqualTo(100);
    // Next window, e = 2.5 s: the previous 100 weigh floor(100 * floor(7500 * 65536 / 10000) / 65536) = 75.
    clock.advance(Duration.ofMillis(12_500));
    assertThat(round(engines, "sliding")).isEqualTo(25);
  }

  @Test
  void tokenBucketAdmitsItsBurstThenExactlyTheRefill() throws Exception {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    List<RateLimitEngine> engines = engines("""
        domain: d
        descriptors:
          - key: k
            rate_limit: {unit: minute, requests_per_unit: 40, algorithm: token_bucket, burst: 120}
        """, clock);
    // Per minute, not per second: Redis expires the bucket in real time (when it would be full
    // again, plus a random expiry jitter of 0 to 300 s), while this clock stands still. With 40 per
    // second a key whose jitter came out near 0 lived about 3 s, less than two rounds take on a
    // busy machine (3 s each were seen), and its early expiry refilled the bucket.
    assertThat(round(engines, "bucket")).as("the burst").isEqualTo(120);
    // 40 per minute: after 45 s, 30 tokens are back (GCRA bound burst + tau * rate, met exactly).
    clock.advance(Duration.ofSeconds(45));
    assertThat(round(engines, "bucket")).isEqualTo(30);
    clock.advance(Duration.ofMillis(600));
    assertThat(round(engines, "bucket")).as("0.4 of a token is not a token").isZero();
  }
}

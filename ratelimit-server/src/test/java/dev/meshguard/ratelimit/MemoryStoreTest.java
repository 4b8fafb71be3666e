package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MemoryStoreTest {

  static final String CONFIG = """
      domain: d
      descriptors:
        - key: k
          rate_limit: {unit: second, requests_per_unit: 100}
      """;

  @Test
  void manyThreadsOnOneKeyNeverAdmitMoreThanTheLimitPerWindow() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("c.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    RateLimitEngine engine = new RateLimitEngine(() -> config, new MemoryStore(clock), clock, FailureMode.DENY);
    int threads = 16;
    int perThread = 500;
    List<Descriptor> request = List.of(Descriptor.of("k", "v"));
    for (int window = 0; window < 3; window++) {
      AtomicInteger admitted = new AtomicInteger();
      CountDownLatch start = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          futures.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < perThread; i++) {
              if (engine.decide("d", request, 1).overallCode() == Code.OK) {
                admitted.incrementAndGet();
              }
            }
            return null;
          }));
        }
        start.countDown();
        for (Future<?> f : futures) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(admitted.get()).as("window %d", window).isEqualTo(100);
      clock.advance(Duration.ofSeconds(1));
    }
  }

  /**
   * The per-tenant lock: many threads, requests of 1 to 3 hits, two hard limits and a soft one,
   * while the sweeper runs: no hard limit is ever exceeded, and every limit counts exactly the hits
   * of the admitted requests (all or nothing per request, no update lost). Then requests of one hit
   * fill the month exactly.
   */
  @Test
  void manyThreadsOnOneTenantNeverExceedAHardQuota() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-02-28T23:00:00Z"));
    MemoryStore store = new MemoryStore(clock);
    TenantQuota quota = new TenantQuota("acme", ZoneOffset.UTC, List.of(
        new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 3_000, QuotaLimit.Enforcement.HARD),
        new QuotaLimit("minute", new QuotaPeriod.Window(Algorithm.FIXED_WINDOW, 60), 2_000,
            QuotaLimit.Enforcement.HARD),
        new QuotaLimit("soft", new QuotaPeriod.Window(Algorithm.FIXED_WINDOW, 3_600), 10,
            QuotaLimit.Enforcement.SOFT)), false, TenantQuota.ManagedBy.API);
    long total = 0;
    for (int minute = 0; minute < 2; minute++) {
      long admitted = hammer(store, quota, clock, true);
      QuotaOutcome usage = store.hit(List.of(), new QuotaHit("acme", quota, 0), clock.millis()).quota();
      total += admitted;
      assertThat(usage.limits().get(1).used()).as("minute %d", minute).isEqualTo(admitted)
          .isLessThanOrEqualTo(2_000);
      assertThat(usage.limits().get(0).used()).as("minute %d", minute).isEqualTo(total).isLessThanOrEqualTo(3_000);
      assertThat(usage.limits().get(2).used()).as("the soft limit counts every admitted hit").isEqualTo(total);
      clock.advance(Duration.ofMinutes(1));
    }
    hammer(store, quota, clock, false);
    assertThat(store.hit(List.of(), new QuotaHit("acme", quota, 0), clock.millis()).quota().limits().getFirst()
        .used()).isEqualTo(3_000);
    // The month ends: the tenant's counters are over, the sweeper drops them, and a new month starts at 0.
    clock.setWallTime(Instant.parse("2026-03-01T00:00:00Z"));
    store.purgeExpired();
    QuotaOutcome march = store.hit(List.of(), new QuotaHit("acme", quota, 1), clock.millis()).quota();
    assertThat(march.admitted()).isTrue();
    assertThat(march.limits().getFirst().used()).isEqualTo(1);
  }

  /**
   * A busy tenant's quota check (its names, periods and counters known) allocates only what it
   * returns: the answer, the outcome and one usage per limit, 192 bytes for two limits on a
   * 64-bit HotSpot with compressed references. It allocated 296 when each request had arrays of
   * its own and copied its list of usages; the bound sits between, with room for wider references.
   */
  @Test
  void aBusyTenantsQuotaCheckAllocatesOnlyItsOutcome() {
    var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    assertThat(mx.isThreadAllocatedMemorySupported())
        .as("this test needs a HotSpot JVM (com.sun.management.ThreadMXBean allocation counters)").isTrue();
    ManualClock clock = new ManualClock(Instant.parse("2026-02-10T12:00:00Z"));
    MemoryStore store = new MemoryStore(clock);
    TenantQuota quota = new TenantQuota("acme", ZoneOffset.UTC, List.of(
        new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 4_000_000_000L,
            QuotaLimit.Enforcement.HARD),
        new QuotaLimit("second", new QuotaPeriod.Window(Algorithm.FIXED_WINDOW, 1), 4_000_000_000L,
            QuotaLimit.Enforcement.HARD)), false, TenantQuota.ManagedBy.API);
    QuotaHit hit = new QuotaHit("acme", quota, 1);
    long thread = Thread.currentThread().threadId();
    int calls = 10_000;
    long best = Long.MAX_VALUE;
    long admitted = 0;
    // The same bytes in every round once the tenant is known (interpreted or compiled); a few
    // rounds only in case the JIT's escape analysis removes more, which lowers the figure.
    for (int round = 0; round < 5; round++) {
      long before = mx.getThreadAllocatedBytes(thread);
      for (int i = 0; i < calls; i++) {
        admitted += store.hit(List.of(), hit, clock.millis()).quota().admitted() ? 1 : 0;
      }
      best = Math.min(best, mx.getThreadAllocatedBytes(thread) - before);
    }
    assertThat(admitted).isEqualTo(5L * calls);
    assertThat(best / calls).as("bytes per quota check").isLessThan(240);
  }

  /**
   * Eight threads send 400 quota requests each (of 1, 2 or 3 hits when {@code mixed}, else 1) while
   * a ninth sweeps; returns the hits admitted.
   */
  private static long hammer(MemoryStore store, TenantQuota quota, ManualClock clock, boolean mixed)
      throws Exception {
    int threads = 8;
    AtomicLong admittedHits = new AtomicLong();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long hits = mixed ? 1 + t % 3 : 1;
        futures.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < 400; i++) {
            if (store.hit(List.of(), new QuotaHit("acme", quota, hits), clock.millis()).quota().admitted()) {
              admittedHits.addAndGet(hits);
            }
          }
          return null;
        }));
      }
      futures.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < 200; i++) {
          store.purgeExpired(); // nothing is expired: it must never drop the tenant's live counters
        }
        return null;
      }));
      start.countDown();
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return admittedHits.get();
  }

  @Test
  void countersExpireAtTheEndOfTheirWindow() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 10);
    store.hit(List.of(fixed("v", 60, 3)), clock.millis()); // window [960, 1020)
    assertThat(store.purgeExpired()).isZero();
    clock.advance(Duration.ofSeconds(19)); // 1019: still open
    assertThat(store.purgeExpired()).isZero();
    clock.advance(Duration.ofSeconds(1)); // 1020: it has ended
    assertThat(store.purgeExpired()).isEqualTo(1);
    assertThat(store.size()).isZero();
  }

  @Test
  void slidingWindowsLiveOneWindowLongerAndBucketsUntilFull() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 10);
    // 10 per 60 s sliding, window [960, 1020); and a bucket of 10 per 10 s: 3 tokens take 3 s to refill.
    store.hit(List.of(hit("s", Algorithm.SLIDING_WINDOW, 10, 10, 60, 1), hit("b", Algorithm.TOKEN_BUCKET, 10, 10, 10, 3)),
        clock.millis());
    clock.advance(Duration.ofMillis(2_999));
    assertThat(store.purgeExpired()).isZero();
    clock.advance(Duration.ofMillis(1));
    assertThat(store.purgeExpired()).as("the bucket is full again").isEqualTo(1);
    clock.setWallTime(Instant.ofEpochSecond(1_079));
    assertThat(store.purgeExpired()).as("still the previous window of [1020, 1080)").isZero();
    clock.setWallTime(Instant.ofEpochSecond(1_080));
    assertThat(store.purgeExpired()).isEqualTo(1);
  }

  @Test
  void aSweptBucketIsNeverChangedAfterItsRemoval() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 10);
    Hit take = hit("b", Algorithm.TOKEN_BUCKET, 1, 1, 10, 1);
    assertThat(store.hit(List.of(take), clock.millis())[0].over()).isFalse();
    clock.advance(Duration.ofSeconds(10));
    assertThat(store.purgeExpired()).isEqualTo(1);
    assertThat(store.hit(List.of(take), clock.millis())[0].over()).isFalse();
    assertThat(store.hit(List.of(take), clock.millis())[0].over()).as("the new cell holds the admission").isTrue();
  }

  @Test
  void whenFullOfLiveCountersNewKeysFailAndExistingOnesKeepCounting() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 2);
    Hit a = fixed("a", 1, 1);
    Hit b = fixed("b", 1, 1);
    store.hit(List.of(a, b), clock.millis());
    assertThatThrownBy(() -> store.hit(List.of(a, fixed("c", 1, 1)), clock.millis()))
        .isInstanceOf(MemoryStore.StoreFullException.class);
    // The failed request changed nothing, not even its existing counter.
    assertThat(store.hit(List.of(a), clock.millis())[0].count()).isEqualTo(2);
    // Once the window is over, the sweep frees the slots.
    clock.advance(Duration.ofSeconds(1));
    assertThat(store.hit(List.of(fixed("c", 1, 1)), clock.millis())[0].count()).isEqualTo(1);
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void theEngineAnswersAFullStoreWithItsFailureMode() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("c.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 1);
    RateLimitEngine allow = new RateLimitEngine(() -> config, store, clock, FailureMode.ALLOW);
    RateLimitEngine deny = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
    allow.decide("d", List.of(Descriptor.of("k", "first")), 1);
    RateLimitDecision allowed = allow.decide("d", List.of(Descriptor.of("k", "second")), 1);
    assertThat(allowed.overallCode()).isEqualTo(Code.OK);
    assertThat(allowed.storeFailed()).isTrue();
    assertThat(deny.decide("d", List.of(Descriptor.of("k", "second")), 1).overallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(allow.storeErrors()).isEqualTo(1);
    assertThat(deny.storeErrors()).isEqualTo(1);
  }

  @Test
  void namesAreUnambiguousAndCarryAlgorithmWindowAndRate() {
    StoreKeys keys = new StoreKeys("p:");
    CounterKey abc = CounterKey.of("d", List.of(new Descriptor.Entry("a_b", "c")));
    CounterKey a_bc = CounterKey.of("d", List.of(new Descriptor.Entry("a", "b_c")));
    CounterKey twoEntries = CounterKey.of("d", List.of(new Descriptor.Entry("a", ""), new Descriptor.Entry("b", "c")));
    assertThat(List.of(abc, a_bc, twoEntries)).doesNotHaveDuplicates();
    assertThat(List.of(keys.fixed(abc, 60, 60), keys.fixed(abc, 60, 120), keys.fixed(abc, 120, 120),
        keys.sliding(abc, 60, 60), keys.bucket(abc, 10, 60), keys.bucket(abc, 20, 60), keys.fixed(a_bc, 60, 60)))
        .doesNotHaveDuplicates();
    assertThat(keys.fixed(abc, 60, 60)).isEqualTo("p:{1:d3:a_b1:c}f:60:60");
    assertThat(keys.bucket(abc, 10, 60)).isEqualTo("p:{1:d3:a_b1:c}b:10:60");
  }

  static Hit fixed(String value, long window, long hits) {
    return hit(value, Algorithm.FIXED_WINDOW, 100, 100, window, hits);
  }

  static Hit hit(String value, Algorithm algorithm, long limit, long burst, long window, long hits) {
    return new Hit(CounterKey.of("d", List.of(new Descriptor.Entry("k", value))), algorithm, limit, burst, window, hits);
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
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

  @Test
  void countersExpireAtTheEndOfTheirWindow() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 10);
    CounterKey minute = CounterKey.of("d", List.of(new Descriptor.Entry("k", "v")), 960, 60);
    store.incrementAndGet(List.of(minute), new long[] {3});
    assertThat(store.purgeExpired()).isZero();
    clock.advance(Duration.ofSeconds(19)); // 1019: window [960, 1020) still open
    assertThat(store.purgeExpired()).isZero();
    clock.advance(Duration.ofSeconds(1)); // 1020: it has ended
    assertThat(store.purgeExpired()).isEqualTo(1);
    assertThat(store.size()).isZero();
  }

  @Test
  void whenFullOfLiveCountersNewKeysFailAndExistingOnesKeepCounting() {
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_000));
    MemoryStore store = new MemoryStore(clock, 2);
    CounterKey a = key("a", 1_000, 1);
    CounterKey b = key("b", 1_000, 1);
    store.incrementAndGet(List.of(a, b), new long[] {1, 1});
    assertThatThrownBy(() -> store.incrementAndGet(List.of(a, key("c", 1_000, 1)), new long[] {1, 1}))
        .isInstanceOf(MemoryStore.StoreFullException.class);
    // The failed request changed nothing, not even its existing counter.
    assertThat(store.incrementAndGet(List.of(a), new long[] {1})).containsExactly(2);
    // Once the window is over, the sweep frees the slots.
    clock.advance(Duration.ofSeconds(1));
    assertThat(store.incrementAndGet(List.of(key("c", 1_001, 1)), new long[] {1})).containsExactly(1);
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
  void keysAreUnambiguousAndCarryTheWindow() {
    var ab_c = CounterKey.of("d", List.of(new Descriptor.Entry("a_b", "c")), 60, 60);
    var a_bc = CounterKey.of("d", List.of(new Descriptor.Entry("a", "b_c")), 60, 60);
    var twoEntries = CounterKey.of("d", List.of(new Descriptor.Entry("a", ""), new Descriptor.Entry("b", "c")), 60, 60);
    var nextWindow = CounterKey.of("d", List.of(new Descriptor.Entry("a_b", "c")), 120, 60);
    assertThat(List.of(ab_c.key(), a_bc.key(), twoEntries.key(), nextWindow.key())).doesNotHaveDuplicates();
  }

  static CounterKey key(String value, long start, long length) {
    return CounterKey.of("d", List.of(new Descriptor.Entry("k", value)), start, length);
  }
}

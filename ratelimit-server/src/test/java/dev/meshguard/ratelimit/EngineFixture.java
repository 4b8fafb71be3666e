package dev.meshguard.ratelimit;

import dev.meshguard.core.time.ManualClock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.List;

/**
 * An engine on a real {@link MemoryStore} with its own meter registry, plus a second engine on the
 * same store ({@link #preload}) that sets counters up without touching the first one's stats, the
 * way upstream's tests start a step from a count their mocked Redis returns.
 */
final class EngineFixture {
  final ManualClock clock;
  final MemoryStore store;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final RateLimitEngine engine;
  private final RateLimitEngine preloader;
  private final String domain;

  EngineFixture(String yaml, EngineOptions options, long nowSeconds) throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("test.yaml", yaml);
    this.domain = config.domains().iterator().next();
    this.clock = new ManualClock(Instant.ofEpochSecond(nowSeconds));
    this.store = new MemoryStore(clock, 1000);
    this.engine = new RateLimitEngine(() -> config, store, clock, options, registry);
    this.preloader = new RateLimitEngine(() -> config, store, clock,
        EngineOptions.DEFAULTS.withLocalCacheMaxEntries(0), new SimpleMeterRegistry());
  }

  /** Adds {@code hits} to the counter of {@code key=value} through the second engine. */
  void preload(String key, String value, long hits) {
    preloader.decide(domain, List.of(Descriptor.of(key, value).withHitsAddend(hits)), 1);
  }

  /** The store's count of {@code key=value} in the current fixed window of {@code unit}, read without counting. */
  long count(String key, String value, RateLimitUnit unit) {
    return count(key, value, unit, Algorithm.FIXED_WINDOW);
  }

  /** The store's count of {@code key=value} under {@code algorithm} over {@code unit}, read without counting. */
  long count(String key, String value, RateLimitUnit unit, Algorithm algorithm) {
    CounterKey counter = CounterKey.of(domain, List.of(new Descriptor.Entry(key, value)));
    Hit read = new Hit(counter, algorithm, RateLimit.UINT32_MAX, RateLimit.UINT32_MAX, unit.seconds(), 0);
    return store.hit(List.of(read), clock.millis())[0].count();
  }

  RateLimitDecision decide(Descriptor... descriptors) {
    return engine.decide(domain, List.of(descriptors), 1);
  }

  /** One of the per-limit stats ({@code total_hits}, {@code over_limit}, ...) of {@code key}. */
  double stat(String stat, String key) {
    Counter counter = registry.find("meshguard.ratelimit." + stat).tags("domain", domain, "key", key).counter();
    return counter == null ? 0 : counter.count();
  }

  /** total_hits, over_limit, near_limit, within_limit, shadow_mode, over_limit_with_local_cache. */
  List<Double> stats(String key) {
    return List.of(stat("total_hits", key), stat("over_limit", key), stat("near_limit", key),
        stat("within_limit", key), stat("shadow_mode", key), stat("over_limit_with_local_cache", key));
  }

  static List<Double> stats(double total, double over, double near, double within, double shadow, double local) {
    return List.of(total, over, near, within, shadow, local);
  }
}

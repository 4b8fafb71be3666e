package dev.meshguard.ratelimit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The engine's meters, named after envoyproxy/ratelimit's per-limit stats
 * ({@code ratelimit.service.rate_limit.<domain>.<key>.<stat>}, {@code src/stats/manager_impl.go})
 * and tagged {@code domain} and {@code key}:
 *
 * <ul>
 *   <li>{@code meshguard_ratelimit_total_hits_total}, {@code ..._over_limit_total},
 *       {@code ..._near_limit_total}, {@code ..._within_limit_total},
 *       {@code ..._shadow_mode_total}, {@code ..._over_limit_with_local_cache_total}: hits, as
 *       upstream counts them (a request with {@code hits_addend: 5} adds 5);
 *   <li>{@code meshguard_ratelimit_store_errors_total} and the histogram
 *       {@code meshguard_ratelimit_store_latency_seconds}, by domain;
 *   <li>{@code meshguard_ratelimit_global_shadow_mode_total}: requests whose OVER_LIMIT answer the
 *       global shadow mode turned into OK.
 * </ul>
 *
 * <p>Cardinality: {@code key} is the configured descriptor path ({@code key1_value1.subkey1};
 * key-only descriptors roll up under their key), bounded by the configs. A limit with
 * {@code detailed_metric: true} and a request's own limit ({@code RateLimitOverride}) are keyed by
 * the request's entries ({@code key_value} parts), as upstream keys them, which requests control;
 * so the number of (domain, key) series is capped at {@link EngineOptions#maxMetricSeries()}, and
 * past the cap every new key is counted under {@value #OTHER} of its domain. Domains come from
 * the configs only (an unknown domain has no limit and is not counted). Series are never removed,
 * also not when a reload drops their descriptor: counters are monotonic.
 *
 * <p>Concurrency: series are created in {@link ConcurrentHashMap}s; two threads may both pass the
 * cap check, so the cap can be overshot by the number of threads creating series at that moment.
 */
final class RateLimitMetrics {

  /** The key under which series beyond the cap are counted. */
  static final String OTHER = "_other_";

  private final MeterRegistry registry;
  private final int maxSeries;
  private final AtomicInteger series = new AtomicInteger();
  private final ConcurrentMap<String, ConcurrentMap<String, LimitStats>> byDomain = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, StoreMeters> storeByDomain = new ConcurrentHashMap<>();
  private final Counter globalShadowMode;

  RateLimitMetrics(MeterRegistry registry, int maxSeries) {
    this.registry = Objects.requireNonNull(registry, "registry");
    if (maxSeries <= 0) {
      throw new IllegalArgumentException("maxSeries must be positive: " + maxSeries);
    }
    this.maxSeries = maxSeries;
    this.globalShadowMode = Counter.builder("meshguard.ratelimit.global_shadow_mode")
        .description("Requests answered OK by the global shadow mode although a descriptor was over its limit")
        .register(registry);
  }

  /** The stats of one matched limit, for one request descriptor. */
  LimitStats stats(String domain, RateLimit limit, Descriptor descriptor) {
    String key = limit.detailedMetric() || limit.statsKey().isEmpty() ? requestKey(descriptor) : limit.statsKey();
    ConcurrentMap<String, LimitStats> keys = byDomain.get(domain);
    if (keys == null) {
      keys = byDomain.computeIfAbsent(domain, d -> new ConcurrentHashMap<>());
    }
    LimitStats stats = keys.get(key);
    if (stats != null) {
      return stats;
    }
    String counted = series.get() < maxSeries ? key : OTHER;
    return keys.computeIfAbsent(counted, k -> {
      series.incrementAndGet();
      return new LimitStats(registry, domain, k);
    });
  }

  /** One store call of a request in {@code domain} took {@code nanos}. */
  void storeLatency(String domain, long nanos) {
    store(domain).latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A request in {@code domain} was answered by the failure mode. */
  void storeError(String domain) {
    store(domain).errors.increment();
  }

  void globalShadowMode() {
    globalShadowMode.increment();
  }

  private StoreMeters store(String domain) {
    StoreMeters meters = storeByDomain.get(domain);
    return meters != null ? meters : storeByDomain.computeIfAbsent(domain, d -> new StoreMeters(registry, d));
  }

  /** Upstream's detailed key: the request's entries as {@code key_value}, joined by {@code .}. */
  static String requestKey(Descriptor descriptor) {
    List<Descriptor.Entry> entries = descriptor.entries();
    StringBuilder sb = new StringBuilder(16 * entries.size());
    for (int i = 0; i < entries.size(); i++) {
      if (i > 0) {
        sb.append('.');
      }
      sb.append(entries.get(i).key()).append('_').append(entries.get(i).value());
    }
    return sb.toString();
  }

  /** The store's meters of one domain. */
  private static final class StoreMeters {
    final Counter errors;
    final Timer latency;

    StoreMeters(MeterRegistry registry, String domain) {
      errors = Counter.builder("meshguard.ratelimit.store.errors").tag("domain", domain)
          .description("Requests whose store call failed and were answered by the failure mode")
          .register(registry);
      latency = Timer.builder("meshguard.ratelimit.store.latency").tag("domain", domain)
          .description("Time of one store call (all counters of one request)")
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofNanos(10_000))
          .maximumExpectedValue(Duration.ofSeconds(10))
          .register(registry);
    }
  }

  /** Upstream's per-limit stats ({@code RateLimitStats}); amounts are hits. */
  static final class LimitStats {
    private final Counter totalHits;
    private final Counter overLimit;
    private final Counter nearLimit;
    private final Counter withinLimit;
    private final Counter shadowMode;
    private final Counter overLimitWithLocalCache;

    LimitStats(MeterRegistry registry, String domain, String key) {
      totalHits = counter(registry, "total_hits", domain, key, "Hits on the limit");
      overLimit = counter(registry, "over_limit", domain, key, "Hits over the limit");
      nearLimit = counter(registry, "near_limit", domain, key,
          "Hits above near_limit_ratio of the limit, up to the limit");
      withinLimit = counter(registry, "within_limit", domain, key, "Hits within the limit");
      shadowMode = counter(registry, "shadow_mode", domain, key,
          "Hits over a shadow_mode limit, answered OK");
      overLimitWithLocalCache = counter(registry, "over_limit_with_local_cache", domain, key,
          "Hits over the limit answered from the local over-limit cache");
    }

    private static Counter counter(MeterRegistry registry, String stat, String domain, String key, String help) {
      return Counter.builder("meshguard.ratelimit." + stat).tag("domain", domain).tag("key", key)
          .description(help).register(registry);
    }

    void totalHits(long hits) {
      add(totalHits, hits);
    }

    void overLimit(long hits) {
      add(overLimit, hits);
    }

    void nearLimit(long hits) {
      add(nearLimit, hits);
    }

    void withinLimit(long hits) {
      add(withinLimit, hits);
    }

    void shadowMode(long hits) {
      add(shadowMode, hits);
    }

    void overLimitWithLocalCache(long hits) {
      add(overLimitWithLocalCache, hits);
    }

    private static void add(Counter counter, long hits) {
      if (hits > 0) {
        counter.increment(hits);
      }
    }
  }
}

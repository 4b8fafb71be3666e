package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * How the {@link RateLimitEngine} decides, beyond the limit configs: the server-wide settings of
 * envoyproxy/ratelimit that change answers ({@code src/settings/settings.go}), with the same
 * meaning, plus meshguard's own bounds. Immutable; the {@code with...} methods return copies.
 *
 * @param failureMode how a store failure is answered
 * @param shadowMode upstream's {@code SHADOW_MODE}: an OVER_LIMIT {@code overall_code} is
 *     answered OK (counted in {@code meshguard_ratelimit_global_shadow_mode_total}); the
 *     per-descriptor statuses still say OVER_LIMIT, as upstream's do
 * @param stopIncrementWhenOverLimit upstream's {@code STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT}:
 *     read every counter of the request first, and when any would go over, add this request's
 *     hits only to the ones that would go over (the others are not charged for a request that is
 *     denied anyway); when a counter is already over in the local cache, add to none
 * @param nearLimitRatio upstream's {@code NEAR_LIMIT_RATIO}: hits above
 *     {@code floor(requests_per_unit * ratio)} and within the limit count as {@code near_limit}
 * @param localCacheMaxEntries the bound of the local over-limit cache (keys seen over their limit
 *     in the current fixed window, answered without a store call); 0 turns it off. Upstream's
 *     {@code LOCAL_CACHE_SIZE_IN_BYTES} counts bytes; an entry here is about 150 bytes
 * @param maxMetricSeries the bound on distinct (domain, key) series of the per-descriptor
 *     metrics; beyond it new keys are counted under {@value RateLimitMetrics#OTHER}
 */
public record EngineOptions(
    FailureMode failureMode,
    boolean shadowMode,
    boolean stopIncrementWhenOverLimit,
    double nearLimitRatio,
    int localCacheMaxEntries,
    int maxMetricSeries) {

  /** Upstream's {@code NEAR_LIMIT_RATIO} default. */
  public static final double DEFAULT_NEAR_LIMIT_RATIO = 0.8;
  public static final int DEFAULT_LOCAL_CACHE_MAX_ENTRIES = 100_000;
  public static final int DEFAULT_MAX_METRIC_SERIES = 10_000;

  /** Failure mode allow; shadow mode and stop-incrementing off, as upstream's defaults. */
  public static final EngineOptions DEFAULTS = new EngineOptions(FailureMode.ALLOW, false, false,
      DEFAULT_NEAR_LIMIT_RATIO, DEFAULT_LOCAL_CACHE_MAX_ENTRIES, DEFAULT_MAX_METRIC_SERIES);

  public EngineOptions {
    Objects.requireNonNull(failureMode, "failureMode");
    if (!(nearLimitRatio >= 0 && nearLimitRatio <= 1)) {
      throw new IllegalArgumentException("nearLimitRatio must be between 0 and 1, found " + nearLimitRatio);
    }
    if (localCacheMaxEntries < 0) {
      throw new IllegalArgumentException("localCacheMaxEntries must not be negative, found " + localCacheMaxEntries);
    }
    if (maxMetricSeries <= 0) {
      throw new IllegalArgumentException("maxMetricSeries must be positive, found " + maxMetricSeries);
    }
  }

  public EngineOptions withFailureMode(FailureMode mode) {
    return new EngineOptions(mode, shadowMode, stopIncrementWhenOverLimit, nearLimitRatio, localCacheMaxEntries,
        maxMetricSeries);
  }

  public EngineOptions withShadowMode(boolean on) {
    return new EngineOptions(failureMode, on, stopIncrementWhenOverLimit, nearLimitRatio, localCacheMaxEntries,
        maxMetricSeries);
  }

  public EngineOptions withStopIncrementWhenOverLimit(boolean on) {
    return new EngineOptions(failureMode, shadowMode, on, nearLimitRatio, localCacheMaxEntries, maxMetricSeries);
  }

  public EngineOptions withNearLimitRatio(double ratio) {
    return new EngineOptions(failureMode, shadowMode, stopIncrementWhenOverLimit, ratio, localCacheMaxEntries,
        maxMetricSeries);
  }

  public EngineOptions withLocalCacheMaxEntries(int entries) {
    return new EngineOptions(failureMode, shadowMode, stopIncrementWhenOverLimit, nearLimitRatio, entries,
        maxMetricSeries);
  }

  public EngineOptions withMaxMetricSeries(int series) {
    return new EngineOptions(failureMode, shadowMode, stopIncrementWhenOverLimit, nearLimitRatio,
        localCacheMaxEntries, series);
  }
}

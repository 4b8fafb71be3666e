package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;

/**
 * One configured {@code rate_limit}, as compiled from a descriptor of an envoyproxy/ratelimit
 * YAML file.
 *
 * @param name the optional {@code name} (empty when absent), reported in {@code current_limit.name}
 *     and the target of other limits' {@code replaces}
 * @param requestsPerUnit the {@code requests_per_unit} (a uint32; 0 blocks everything)
 * @param unit the {@code unit}; null exactly when {@code unlimited}
 * @param unlimited {@code unlimited: true}: never counted, always OK
 * @param shadowMode the descriptor's {@code shadow_mode}: counted, but an over-limit answer is OK
 * @param replaces the names in {@code replaces}, in file order
 * @param algorithm our extension {@code algorithm}, default {@link Algorithm#FIXED_WINDOW}
 * @param burst our extension {@code burst} for token buckets; 0 when absent
 * @param windowSeconds the window length: our extension {@code window}, else the unit's length;
 *     0 when unlimited
 * @param detailedMetric the descriptor's {@code detailed_metric}
 * @param statsKey the metrics key of the descriptor this limit was configured on, as upstream's
 *     stats names it without the domain: the path of {@code key} or {@code key_value} parts joined
 *     by {@code .} (e.g. {@code key1_value1.subkey1}); empty for a request's own limit
 */
public record RateLimit(
    String name,
    long requestsPerUnit,
    RateLimitUnit unit,
    boolean unlimited,
    boolean shadowMode,
    List<String> replaces,
    Algorithm algorithm,
    long burst,
    long windowSeconds,
    boolean detailedMetric,
    String statsKey) {

  /** The largest value of the proto's uint32 fields. */
  public static final long UINT32_MAX = 0xFFFF_FFFFL;

  public RateLimit {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(statsKey, "statsKey");
    replaces = List.copyOf(replaces);
    if (requestsPerUnit < 0 || requestsPerUnit > UINT32_MAX) {
      throw new IllegalArgumentException("requestsPerUnit must be a uint32: " + requestsPerUnit);
    }
    if (unlimited != (unit == null)) {
      throw new IllegalArgumentException("unit must be null exactly when unlimited");
    }
    if (!unlimited && windowSeconds <= 0) {
      throw new IllegalArgumentException("windowSeconds must be positive: " + windowSeconds);
    }
  }

  /** A limit without a metrics key (counted under the request's own entries). */
  public RateLimit(String name, long requestsPerUnit, RateLimitUnit unit, boolean unlimited, boolean shadowMode,
      List<String> replaces, Algorithm algorithm, long burst, long windowSeconds, boolean detailedMetric) {
    this(name, requestsPerUnit, unit, unlimited, shadowMode, replaces, algorithm, burst, windowSeconds, detailedMetric,
        "");
  }
}

package dev.meshguard.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One request descriptor ({@code envoy.extensions.common.ratelimit.v3.RateLimitDescriptor}): an
 * ordered list of key/value entries and the optional per-descriptor {@code hits_addend}.
 *
 * @param entries the entries, in request order; order matters for matching
 * @param hitsAddend the per-descriptor {@code hits_addend} ({@code UInt64Value}), or -1 when unset;
 *     0 means check without incrementing
 * @param limit the request's own limit ({@code RateLimitDescriptor.limit}, Envoy's
 *     {@code RateLimitOverride}), or null; used instead of the config's when the domain exists
 */
public record Descriptor(List<Entry> entries, long hitsAddend, LimitOverride limit) {

  /** The value of {@link #hitsAddend} when the request did not set it. */
  public static final long UNSET = -1;

  public Descriptor {
    entries = List.copyOf(entries);
    if (hitsAddend < UNSET) {
      throw new IllegalArgumentException("hitsAddend must be >= 0, or UNSET: " + hitsAddend);
    }
  }

  /** A descriptor without a limit override. */
  public Descriptor(List<Entry> entries, long hitsAddend) {
    this(entries, hitsAddend, null);
  }

  /**
   * {@code RateLimitDescriptor.RateLimitOverride}: a limit the request brings. As upstream
   * ({@code GetLimit} in {@code src/config/config_impl.go}) it has no name, no shadow mode and no
   * {@code replaces}, and counts in the fixed window of its unit, keyed like any other counter by
   * the descriptor's entries.
   *
   * @param requestsPerUnit a uint32
   */
  public record LimitOverride(long requestsPerUnit, RateLimitUnit unit) {
    public LimitOverride {
      Objects.requireNonNull(unit, "unit");
      if (requestsPerUnit < 0 || requestsPerUnit > RateLimit.UINT32_MAX) {
        throw new IllegalArgumentException("requestsPerUnit must be a uint32: " + requestsPerUnit);
      }
    }

    RateLimit toRateLimit() {
      return new RateLimit("", requestsPerUnit, unit, false, false, List.of(), Algorithm.FIXED_WINDOW, 0,
          unit.seconds(), false);
    }
  }

  /** One {@code key}/{@code value} pair; Envoy always sends both (the value may be empty). */
  public record Entry(String key, String value) {
    public Entry {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
    }
  }

  /** A descriptor from alternating keys and values: {@code of("k1", "v1", "k2", "v2")}. */
  public static Descriptor of(String... keysAndValues) {
    if (keysAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("keysAndValues must alternate key, value");
    }
    List<Entry> entries = new ArrayList<>(keysAndValues.length / 2);
    for (int i = 0; i < keysAndValues.length; i += 2) {
      entries.add(new Entry(keysAndValues[i], keysAndValues[i + 1]));
    }
    return new Descriptor(entries, UNSET);
  }

  /** This descriptor with a per-descriptor {@code hits_addend}. */
  public Descriptor withHitsAddend(long hits) {
    if (hits < 0) {
      throw new IllegalArgumentException("hits must be >= 0: " + hits);
    }
    return new Descriptor(entries, hits, limit);
  }

  /** This descriptor with a request-supplied limit ({@code RateLimitOverride}). */
  public Descriptor withLimit(LimitOverride override) {
    return new Descriptor(entries, hitsAddend, Objects.requireNonNull(override, "override"));
  }
}

package dev.meshguard.ratelimit;

import java.util.Locale;

/**
 * The time units of envoyproxy/ratelimit ({@code RateLimitResponse.RateLimit.Unit} in Envoy's
 * {@code rls.proto}), each with the fixed length that project gives it: a month is 30 days and a
 * year 365 days, not calendar-aware.
 */
public enum RateLimitUnit {
  SECOND(1),
  MINUTE(60),
  HOUR(3_600),
  DAY(86_400),
  WEEK(7 * 86_400),
  MONTH(30 * 86_400),
  YEAR(365 * 86_400);

  private final long seconds;

  RateLimitUnit(long seconds) {
    this.seconds = seconds;
  }

  /** The length of one unit in seconds. */
  public long seconds() {
    return seconds;
  }

  /** Parses a unit name case-insensitively, as envoyproxy/ratelimit does; null if unknown. */
  static RateLimitUnit parse(String text) {
    String upper = text.toUpperCase(Locale.ROOT);
    for (RateLimitUnit unit : values()) {
      if (unit.name().equals(upper)) {
        return unit;
      }
    }
    return null;
  }
}

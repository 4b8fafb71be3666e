package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * How a quota limit's usage is counted over time: a calendar period in the quota's time zone, or a
 * window of the rate limit algorithms.
 */
public sealed interface QuotaPeriod {

  /** The unit reported in a status's {@code current_limit}. */
  RateLimitUnit reportedUnit();

  /** Text naming the period in keys and messages, e.g. {@code month} or {@code fixed_window/60s}. */
  String describe();

  /**
   * A calendar hour, day, week (from Monday), month or year in the quota's time zone; see
   * {@link CalendarUnit}. Counted like a fixed window whose bounds are the period's.
   */
  record Calendar(CalendarUnit unit) implements QuotaPeriod {
    public Calendar {
      Objects.requireNonNull(unit, "unit");
    }

    @Override
    public RateLimitUnit reportedUnit() {
      return unit.reportedUnit();
    }

    @Override
    public String describe() {
      return unit.configName();
    }
  }

  /**
   * A window of {@code windowSeconds}, counted by {@link Algorithm#FIXED_WINDOW} (aligned to Unix
   * time, as rate limits) or {@link Algorithm#SLIDING_WINDOW} (rolling: the two-window weighted
   * estimate). Unlike a rate limit's fixed window, a quota counts only the hits it admits.
   * {@link Algorithm#TOKEN_BUCKET} is not offered for quotas.
   */
  record Window(Algorithm algorithm, long windowSeconds) implements QuotaPeriod {
    /** Longest window whose sliding arithmetic stays exact below 2^53 (as rate limits). */
    static final long MAX_SECONDS = Algorithms.MAX_EXACT / Algorithms.WEIGHT_ONE / 1000 - 1;
    /** {@code values()} copies its array on every call; this is read per request. */
    private static final RateLimitUnit[] UNITS = RateLimitUnit.values();

    public Window {
      Objects.requireNonNull(algorithm, "algorithm");
      if (algorithm == Algorithm.TOKEN_BUCKET) {
        throw new IllegalArgumentException("token_bucket is not a quota period");
      }
      if (windowSeconds <= 0 || windowSeconds > MAX_SECONDS) {
        throw new IllegalArgumentException("windowSeconds must be between 1 and " + MAX_SECONDS + ": " + windowSeconds);
      }
    }

    @Override
    public RateLimitUnit reportedUnit() {
      RateLimitUnit reported = RateLimitUnit.SECOND;
      for (RateLimitUnit unit : UNITS) {
        if (unit.seconds() <= windowSeconds) {
          reported = unit; // the longest unit that fits in the window
        }
      }
      return reported;
    }

    @Override
    public String describe() {
      return algorithm.configName() + "/" + windowSeconds + "s";
    }
  }
}

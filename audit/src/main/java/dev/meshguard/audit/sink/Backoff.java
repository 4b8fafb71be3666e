package dev.meshguard.audit.sink;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a sink waits before retrying a batch: exponential, capped, with jitter so that many
 * meshguard processes losing the same collector do not retry in lock step.
 *
 * <p>The wait before retry {@code n} (1 for the first retry) is
 * {@code min(max, initial * multiplier^(n-1)) * (1 - jitter * r)} with {@code r} uniform in
 * {@code [0, 1)}: never longer than the cap, at most {@code jitter} of it shorter.
 *
 * @param initial the wait before the first retry
 * @param max the longest wait
 * @param multiplier growth per failed attempt, at least 1
 * @param jitter the fraction of each wait that is randomised, in {@code [0, 1]}
 */
public record Backoff(Duration initial, Duration max, double multiplier, double jitter) {
  public static final Duration DEFAULT_INITIAL = Duration.ofMillis(200);
  public static final Duration DEFAULT_MAX = Duration.ofSeconds(30);
  public static final double DEFAULT_MULTIPLIER = 2.0;
  public static final double DEFAULT_JITTER = 0.2;
  public static final Backoff DEFAULT = new Backoff(DEFAULT_INITIAL, DEFAULT_MAX, DEFAULT_MULTIPLIER, DEFAULT_JITTER);

  public Backoff {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("initial must be positive, found " + initial);
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("max must not be shorter than initial (" + initial + "), found " + max);
    }
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException("multiplier must be a finite number of at least 1, found " + multiplier);
    }
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new IllegalArgumentException("jitter must be between 0 and 1, found " + jitter);
    }
  }

  /**
   * The wait before retry {@code attempt}.
   *
   * @param attempt 1 for the first retry
   * @param random a uniform sample from {@code [0, 1)}
   */
  public Duration delay(int attempt, double random) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1, found " + attempt);
    }
    if (!(random >= 0.0 && random < 1.0)) {
      throw new IllegalArgumentException("random must be in [0, 1), found " + random);
    }
    double capNanos = max.toNanos();
    // Double arithmetic saturates at infinity rather than overflowing, and min() caps it.
    double base = Math.min(capNanos, initial.toNanos() * Math.pow(multiplier, attempt - 1));
    return Duration.ofNanos((long) (base * (1.0 - jitter * random)));
  }
}

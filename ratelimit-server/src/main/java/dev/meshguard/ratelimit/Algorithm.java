package dev.meshguard.ratelimit;

/**
 * How a limit counts: our extension field {@code algorithm} of a {@code rate_limit}. The default,
 * {@link #FIXED_WINDOW}, is what envoyproxy/ratelimit does, so migrated configs behave identically.
 * The window W is our extension {@code window} (any whole number of seconds), else the unit's
 * length; L is {@code requests_per_unit}.
 *
 * <p>The three differ in what a refused request costs: a fixed window counts refused hits too (as
 * upstream: denied hits consume quota), the other two count only admitted ones, so a client
 * sending at twice the rate still gets the limit through.
 *
 * <p>Every store computes the same answers ({@link Algorithms}, and its Lua twin in
 * {@link RedisStore}); all arithmetic is in integers, times in milliseconds.
 */
public enum Algorithm {
  /**
   * A counter per window aligned to Unix time ({@code start = now - now % W}, whole seconds, as
   * upstream). Over: the count after this request's hits exceeds L. {@code limit_remaining}: L
   * minus that count, floored at 0. {@code duration_until_reset}: {@code W - now % W} seconds.
   * Worst case: 2L hits pass within an instant around a window's end.
   */
  FIXED_WINDOW("fixed_window"),

  /**
   * Two-window weighted count: the current aligned window's count c plus the previous window's
   * count p weighted by the part of the previous window still inside the sliding window,
   * {@code floor(p * w / 65536)} with {@code w = floor((W - e) / W * 65536)}, e being the time
   * elapsed in the current window. A request of n hits is admitted when that estimate plus n is
   * at most L, and only then counted.
   *
   * <p>{@code limit_remaining}: L minus (estimate + n), floored at 0. {@code duration_until_reset}:
   * the time until everything counted so far weighs nothing, i.e. the end of the next window if
   * the current one has hits, else the end of the current one.
   *
   * <p>Error bound. Never more than L in one aligned window. The estimate is exact when the
   * previous window's hits were spread evenly over it; the weight's quantisation and the floor
   * make it at most {@code 1 + p/65536} lower. In the worst case, all p hits at the very end of
   * the previous window, an interval of length W reaching e into the current window holds at most
   * {@code L + p*e/W + p/65536 + 1} admitted hits (so less than 2L + 1 + L/65536, as p &lt;= L),
   * and the first τ of a window after a full one admits at most {@code L*τ/W + L/65536 + 1}:
   * bursts across a window's edge grow with τ instead of doubling at once.
   */
  SLIDING_WINDOW("sliding_window"),

  /**
   * A token bucket as GCRA (generic cell rate algorithm), one stored state per counter: a bucket
   * of {@code burst} tokens (default L) refilled at L per W, i.e. one token every T = W / L,
   * kept as an exact fraction. A request of n hits is admitted when n tokens are left, and only
   * then takes them. Bound: any interval of length τ admits at most {@code burst + floor(τ * L /
   * W)} hits.
   *
   * <p>{@code limit_remaining}: the tokens left after this request (burst minus tokens in use,
   * rounded up, minus n), floored at 0; it can exceed L when burst does. {@code
   * duration_until_reset}: the time until the bucket is full again (TAT - now, rounded up to the
   * millisecond). A limit of 0 refuses everything.
   */
  TOKEN_BUCKET("token_bucket");

  private final String configName;

  Algorithm(String configName) {
    this.configName = configName;
  }

  /** The name used in YAML. */
  public String configName() {
    return configName;
  }

  static Algorithm parse(String text) {
    for (Algorithm algorithm : values()) {
      if (algorithm.configName.equals(text)) {
        return algorithm;
      }
    }
    return null;
  }
}

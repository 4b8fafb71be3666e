package dev.meshguard.ratelimit;

/**
 * The arithmetic of the three algorithms, shared by {@link MemoryStore} and mirrored line for line
 * by the Lua script of {@link RedisStore} ({@code ratelimit.lua}); {@code StoresAgreeTest} runs
 * both on the same random sequences and compares every outcome.
 *
 * <p>Everything is integer arithmetic on values below 2<sup>53</sup>, so the Lua script (whose
 * numbers are doubles) computes exactly what Java computes: counts are uint32 sums, times are
 * Unix milliseconds, and a token bucket's fractions are kept as integer numerators (see
 * {@link #bucket}). {@link ConfigCompiler} refuses token buckets whose {@code burst} times window
 * in milliseconds would reach {@link #MAX_EXACT}.
 */
final class Algorithms {

  /** The sliding window's weight of the previous window is a multiple of 1/{@value}. */
  static final long WEIGHT_ONE = 1L << 16;

  /** Integers up to this are exact in a double, i.e. in Lua. */
  static final long MAX_EXACT = 1L << 53;

  private Algorithms() {}

  // ---- fixed window (envoyproxy/ratelimit) ----

  /** The start, Unix seconds, of the fixed window of {@code windowSeconds} around {@code nowMillis}. */
  static long windowStartSeconds(long nowMillis, long windowSeconds) {
    long now = Math.floorDiv(nowMillis, 1000);
    return now - Math.floorMod(now, windowSeconds);
  }

  /**
   * A fixed-window outcome from the count after the hits. Upstream counts whole seconds
   * ({@code CalculateReset}: unit minus now mod unit), so the reset is too.
   *
   * @param count the counter after adding {@code hits}
   */
  static Outcome fixed(long count, long hits, long limit, long nowMillis, long windowSeconds) {
    long now = Math.floorDiv(nowMillis, 1000);
    long reset = (windowSeconds - Math.floorMod(now, windowSeconds)) * 1000;
    long retry = count < limit ? 0 : limit == 0 ? -1 : reset;
    boolean firstOver = hits > 0 && count > limit && count - hits <= limit;
    return new Outcome(count, limit, reset, retry, firstOver);
  }

  // ---- sliding window: two fixed windows, the previous one weighted ----

  /**
   * The previous window's weight at {@code elapsed} ms into the current one, in units of
   * 1/{@link #WEIGHT_ONE}: {@code floor((W - elapsed) / W * 65536)}, exact in integers.
   */
  static long weight(long elapsedMillis, long windowMillis) {
    return (windowMillis - elapsedMillis) * WEIGHT_ONE / windowMillis;
  }

  /** The previous window's count, weighted: {@code floor(previous * weight / 65536)}. */
  static long weighted(long previous, long elapsedMillis, long windowMillis) {
    return previous * weight(elapsedMillis, windowMillis) / WEIGHT_ONE;
  }

  /** Whether a sliding window admits {@code hits} (a read of 0 hits is never "admitted"). */
  static boolean slidingAdmits(long previous, long current, long hits, long limit, long elapsedMillis,
      long windowMillis) {
    return hits > 0 && weighted(previous, elapsedMillis, windowMillis) + current + hits <= limit;
  }

  /**
   * A sliding-window outcome.
   *
   * @param previous the previous window's count
   * @param before the current window's count before this request
   * @param admitted whether the hits were added (per {@link #slidingAdmits})
   */
  static Outcome sliding(long previous, long before, long hits, boolean admitted, boolean firstOver, long limit,
      long elapsedMillis, long windowMillis) {
    long count = weighted(previous, elapsedMillis, windowMillis) + before + hits;
    long after = admitted ? before + hits : before;
    // The hits of the current window weigh until the end of the next one; the previous window's
    // until the end of this one.
    long reset = after > 0 ? 2 * windowMillis - elapsedMillis : windowMillis - elapsedMillis;
    return new Outcome(count, limit, reset, slidingRetry(previous, after, limit, elapsedMillis, windowMillis),
        firstOver);
  }

  /** How long until one more hit fits, if nothing more is counted; see {@link Outcome#retryAfterMillis()}. */
  static long slidingRetry(long previous, long current, long limit, long elapsedMillis, long windowMillis) {
    if (limit == 0) {
      return -1;
    }
    long room = limit - current - 1; // what the weighted previous count may be for one more hit
    if (room >= 0) {
      if (weighted(previous, elapsedMillis, windowMillis) <= room) {
        return 0;
      }
      return firstElapsedWhereWeightedAtMost(previous, room, windowMillis) - elapsedMillis;
    }
    // Not in this window: in the next one this window's count is the previous one, weighing
    // current * weight <= limit - 1 from some point on (current >= limit > 0 here).
    return windowMillis - elapsedMillis + firstElapsedWhereWeightedAtMost(current, limit - 1, windowMillis);
  }

  /**
   * The least elapsed time e in [1, W] with {@code weighted(count, e, W) <= room}, given that it
   * is more than {@code room} at e = 0... (so count > room >= 0). Derivation: floor(count * w /
   * 65536) <= room iff w <= wMax = floor(((room + 1) * 65536 - 1) / count); and floor((W - e) *
   * 65536 / W) <= wMax iff W - e < (wMax + 1) * W / 65536 iff e >= W - ceil((wMax + 1) * W /
   * 65536) + 1.
   */
  static long firstElapsedWhereWeightedAtMost(long count, long room, long windowMillis) {
    long wMax = ((room + 1) * WEIGHT_ONE - 1) / count;
    return windowMillis - ceilDiv((wMax + 1) * windowMillis, WEIGHT_ONE) + 1;
  }

  // ---- token bucket: GCRA ----

  /**
   * The state of a token bucket: its theoretical arrival time (TAT), {@code tatMillis +
   * tatFraction / rate} Unix milliseconds, where rate is the limit. Keeping the fraction as an
   * integer numerator makes the emission interval {@code window / rate} exact for every rate
   * (333.33... ms for 3 per second) without floating point.
   *
   * @param denied a hit was refused since the last admitted one (for {@link Outcome#firstOver()})
   * @param expiresAtMillis when the state can be forgotten: it then means a full bucket
   */
  record Bucket(long tatMillis, long tatFraction, boolean denied, long expiresAtMillis) {
    static final Bucket EMPTY = new Bucket(Long.MIN_VALUE, 0, false, Long.MIN_VALUE);
  }

  /** The result of a hit on a bucket: the outcome and the state to store (the same one when nothing changes). */
  record BucketResult(Outcome outcome, Bucket next) {}

  /**
   * GCRA with burst: a bucket of {@code burst} tokens refilled at {@code limit} per
   * {@code windowMillis}. With T = window / limit, a request of n hits is admitted when
   * {@code max(TAT, now) + n T - now <= burst T}, and then TAT becomes {@code max(TAT, now) + n T}.
   * Multiplied by the limit, with X = (TAT - now) * limit: the tokens in use are ceil(X / W), the
   * request fits when ceil(X / W) + n <= burst, and the bucket is full again after X / limit ms.
   *
   * <p>A limit of 0 refills nothing: every hit is refused and the state only remembers the
   * refusal.
   */
  static BucketResult bucket(Bucket state, long hits, long limit, long burst, long windowMillis, long nowMillis) {
    if (limit == 0) {
      boolean first = hits > 0 && !state.denied();
      Bucket next = first ? new Bucket(nowMillis, 0, true, nowMillis + windowMillis) : state;
      return new BucketResult(new Outcome(hits, 0, windowMillis, -1, first), next);
    }
    long tat = state.tatMillis();
    long fraction = state.tatFraction();
    if (tat < nowMillis || (tat == nowMillis && fraction == 0)) {
      tat = nowMillis;
      fraction = 0;
    }
    long x = (tat - nowMillis) * limit + fraction;
    long count = ceilDiv(x, windowMillis) + hits;
    if (hits > 0 && count <= burst) {
      long sum = fraction + hits * windowMillis;
      tat += sum / limit;
      fraction = sum % limit;
      x = (tat - nowMillis) * limit + fraction;
      long reset = ceilDiv(x, limit);
      Bucket next = new Bucket(tat, fraction, false, nowMillis + reset);
      return new BucketResult(new Outcome(count, burst, reset, bucketRetry(x, limit, burst, windowMillis), false),
          next);
    }
    long reset = ceilDiv(x, limit);
    boolean first = hits > 0 && !state.denied();
    Bucket next = first
        ? new Bucket(state.tatMillis(), state.tatFraction(), true, Math.max(state.expiresAtMillis(), nowMillis + reset))
        : state;
    return new BucketResult(new Outcome(count, burst, reset, bucketRetry(x, limit, burst, windowMillis), first), next);
  }

  /** Time until ceil(X(t) / W) + 1 <= burst, where X shrinks by the limit each millisecond. */
  private static long bucketRetry(long x, long limit, long burst, long windowMillis) {
    if (burst == 0) {
      return -1;
    }
    long excess = x - (burst - 1) * windowMillis;
    return excess <= 0 ? 0 : ceilDiv(excess, limit);
  }

  /** Ceiling of a / b for a >= 0, b > 0. */
  static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}

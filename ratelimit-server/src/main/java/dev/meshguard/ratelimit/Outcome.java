package dev.meshguard.ratelimit;

/**
 * What a store decided for one {@link Hit}. The same for every store; what the numbers mean per
 * algorithm is on {@link Algorithm}.
 *
 * @param count what this request was judged on: the counter's use after its hits, those hits
 *     included even when they were refused (and not counted)
 * @param capacity what {@code count} is compared with: the limit, or a token bucket's burst
 * @param resetMillis {@code duration_until_reset}: how long until the counter is back to its full
 *     capacity if nothing more is counted
 * @param retryAfterMillis how long until one more hit would be admitted if nothing more is counted:
 *     0 when one would be now, -1 when none ever would (a capacity of 0)
 * @param firstOver this request was refused and is the first refused one of its counter in the
 *     current window (fixed and sliding window), or since the last admitted one (token bucket); a
 *     read (hits 0) never is
 */
public record Outcome(long count, long capacity, long resetMillis, long retryAfterMillis, boolean firstOver) {

  public Outcome {
    if (count < 0 || capacity < 0 || resetMillis < 0 || retryAfterMillis < -1) {
      throw new IllegalArgumentException("negative outcome: " + count + ", " + capacity + ", " + resetMillis + ", "
          + retryAfterMillis);
    }
  }

  /** The hits did not fit: over means count &gt; capacity, so reaching the capacity exactly is OK. */
  public boolean over() {
    return count > capacity;
  }

  /** {@code limit_remaining}: capacity minus count, floored at 0. */
  public long remaining() {
    return Math.max(0, capacity - count);
  }
}

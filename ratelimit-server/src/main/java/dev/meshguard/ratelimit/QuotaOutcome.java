package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;

/**
 * What a store decided for a {@link QuotaHit}: the same in every store.
 *
 * @param admitted no hard limit would go over with this request's hits, so all of them were
 *     counted; false: none of the tenant's counters changed. A read (0 hits) is admitted.
 * @param limits one per limit of the quota, in its order
 */
public record QuotaOutcome(boolean admitted, List<LimitUsage> limits) {

  public QuotaOutcome {
    limits = List.copyOf(limits);
  }

  /**
   * One limit's usage.
   *
   * @param limit the limit
   * @param before the usage before this request (for a sliding window, the weighted estimate)
   * @param hits this request's hits
   * @param counted whether they were added (the request was admitted and hits &gt; 0)
   * @param resetMillis how long until the usage is back to 0 if nothing more is counted; exact to
   *     the millisecond for calendar periods
   */
  public record LimitUsage(QuotaLimit limit, long before, long hits, boolean counted, long resetMillis) {
    public LimitUsage {
      Objects.requireNonNull(limit, "limit");
    }

    /** What the request was judged on: the usage with its hits, counted or not. */
    public long judged() {
      return before + hits;
    }

    /** The usage now: with this request's hits when they were counted. */
    public long used() {
      return counted ? before + hits : before;
    }

    /** The hits would take (or took) the usage over the amount. */
    public boolean over() {
      return hits > 0 && judged() > limit.amount();
    }

    /** {@code limit_remaining}: amount minus the judged usage, floored at 0. */
    public long remaining() {
      return Math.max(0, limit.amount() - judged());
    }

    /**
     * Whether this request's counted hits carried the usage to or across {@code percent} of the
     * amount (the threshold rounded up to a whole hit). Counts are atomic, so for a calendar or
     * fixed period exactly one request per period sees each crossing.
     */
    public boolean crossed(int percent) {
      if (!counted || limit.amount() == 0) {
        return false;
      }
      long threshold = Algorithms.ceilDiv(limit.amount() * percent, 100);
      return before < threshold && before + hits >= threshold;
    }
  }
}

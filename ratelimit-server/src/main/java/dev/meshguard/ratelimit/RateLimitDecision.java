package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;

/**
 * The answer to one {@code ShouldRateLimit} request.
 *
 * @param overallCode OVER_LIMIT if any descriptor's status is OVER_LIMIT (shadow-mode descriptors
 *     already report OK)
 * @param statuses one per request descriptor, in request order
 * @param storeFailed the store failed and the failure mode answered instead
 * @param throttled the indices of the descriptors whose counter went over its limit with this
 *     request: the first over-limit hit of that counter's window (exactly one request per counter
 *     and window sees it, since counts are atomic), in request order; shadow-mode limits, hits
 *     answered from the local over-limit cache and, under the global shadow mode, every descriptor
 *     excluded (nothing was denied)
 * @param quota the tenant quota checked for this request, or null when none applied
 */
public record RateLimitDecision(Code overallCode, List<DescriptorStatus> statuses, boolean storeFailed,
    List<Integer> throttled, QuotaDecision quota) {
  public RateLimitDecision {
    Objects.requireNonNull(overallCode, "overallCode");
    statuses = List.copyOf(statuses);
    throttled = List.copyOf(throttled);
  }

  /** A decision without a tenant quota. */
  public RateLimitDecision(Code overallCode, List<DescriptorStatus> statuses, boolean storeFailed,
      List<Integer> throttled) {
    this(overallCode, statuses, storeFailed, throttled, null);
  }

  /**
   * The tenant quota's part of a decision.
   *
   * @param tenant the tenant the request carried
   * @param descriptor the index of the descriptor that carried it (whose status includes the quota)
   * @param outcome the store's answer; null when the store failed
   */
  public record QuotaDecision(String tenant, int descriptor, QuotaOutcome outcome) {
    public QuotaDecision {
      Objects.requireNonNull(tenant, "tenant");
    }
  }

  /** A decision in which no counter went over its limit. */
  public RateLimitDecision(Code overallCode, List<DescriptorStatus> statuses, boolean storeFailed) {
    this(overallCode, statuses, storeFailed, List.of());
  }
}

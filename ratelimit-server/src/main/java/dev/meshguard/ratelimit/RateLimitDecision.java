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
 */
public record RateLimitDecision(Code overallCode, List<DescriptorStatus> statuses, boolean storeFailed) {
  public RateLimitDecision {
    Objects.requireNonNull(overallCode, "overallCode");
    statuses = List.copyOf(statuses);
  }
}

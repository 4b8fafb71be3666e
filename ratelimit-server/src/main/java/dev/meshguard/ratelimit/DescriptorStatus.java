package dev.meshguard.ratelimit;

import java.time.Duration;
import java.util.Objects;

/**
 * {@code RateLimitResponse.DescriptorStatus}: the answer for one request descriptor.
 *
 * @param code OK or OVER_LIMIT
 * @param currentLimit the limit applied; null when none matched, the limit was replaced, or it is
 *     unlimited
 * @param limitRemaining limit minus count, floored at 0; {@link RateLimit#UINT32_MAX} for an
 *     unlimited descriptor; 0 when no limit matched
 * @param durationUntilReset time to the end of the current window; null exactly when
 *     {@code currentLimit} is
 */
public record DescriptorStatus(Code code, CurrentLimit currentLimit, long limitRemaining, Duration durationUntilReset) {

  /** No limit matched (or it was replaced): OK, no limit, 0 remaining, as upstream answers. */
  public static final DescriptorStatus NO_LIMIT = new DescriptorStatus(Code.OK, null, 0, null);

  /** An {@code unlimited: true} descriptor. */
  public static final DescriptorStatus UNLIMITED = new DescriptorStatus(Code.OK, null, RateLimit.UINT32_MAX, null);

  public DescriptorStatus {
    Objects.requireNonNull(code, "code");
    if ((currentLimit == null) != (durationUntilReset == null)) {
      throw new IllegalArgumentException("durationUntilReset is set exactly when currentLimit is");
    }
  }
}

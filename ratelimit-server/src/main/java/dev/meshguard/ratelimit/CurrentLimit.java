package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * {@code RateLimitResponse.RateLimit}: the limit a status was decided against.
 *
 * @param name the limit's {@code name}, empty when it has none
 */
public record CurrentLimit(long requestsPerUnit, RateLimitUnit unit, String name) {
  public CurrentLimit {
    Objects.requireNonNull(unit, "unit");
    Objects.requireNonNull(name, "name");
  }
}

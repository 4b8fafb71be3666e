package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * One counter of one request, as the store needs it: whose counter, how it counts, and by how
 * much.
 *
 * @param counter the counter's identity
 * @param algorithm how it counts
 * @param limit the {@code requests_per_unit} (a uint32)
 * @param burst the bucket's capacity for {@link Algorithm#TOKEN_BUCKET} (the configured
 *     {@code burst}, else {@code limit}); equal to {@code limit} for the window algorithms
 * @param windowSeconds the window, or for a token bucket the time in which {@code limit} tokens
 *     are refilled
 * @param hits how much to count; 0 reads only
 */
public record Hit(CounterKey counter, Algorithm algorithm, long limit, long burst, long windowSeconds, long hits) {

  public Hit {
    Objects.requireNonNull(counter, "counter");
    Objects.requireNonNull(algorithm, "algorithm");
    if (limit < 0 || limit > RateLimit.UINT32_MAX) {
      throw new IllegalArgumentException("limit must be a uint32: " + limit);
    }
    if (burst < 0 || burst > RateLimit.UINT32_MAX) {
      throw new IllegalArgumentException("burst must be a uint32: " + burst);
    }
    if (windowSeconds <= 0) {
      throw new IllegalArgumentException("windowSeconds must be positive: " + windowSeconds);
    }
    if (hits < 0) {
      throw new IllegalArgumentException("hits must not be negative: " + hits);
    }
  }

  /** The hit of {@code hits} on {@code counter} under {@code limit} (which must not be unlimited). */
  public static Hit of(CounterKey counter, RateLimit limit, long hits) {
    if (limit.unlimited()) {
      throw new IllegalArgumentException("an unlimited limit is never counted");
    }
    long burst = limit.algorithm() == Algorithm.TOKEN_BUCKET && limit.burst() > 0 ? limit.burst()
        : limit.requestsPerUnit();
    return new Hit(counter, limit.algorithm(), limit.requestsPerUnit(), burst, limit.windowSeconds(), hits);
  }

  /** The limit an outcome's count is compared with: the burst of a token bucket, else the limit. */
  long capacity() {
    return algorithm == Algorithm.TOKEN_BUCKET ? burst : limit;
  }
}

package dev.meshguard.authz;

import java.time.Duration;
import java.util.Objects;

/**
 * How the server enforces {@code RequestAuthentication} itself (for deployments without Envoy's
 * jwt_authn filter): JWKS fetching and caching, and the clock skew allowed on {@code exp}/{@code nbf}.
 *
 * @param jwksTimeout the longest a {@code jwksUri} fetch may take, and so the longest a request
 *     waits for keys; a rule's own {@code timeout} overrides it. Istio's default for
 *     {@code JWTRule.timeout} is 5 s; keep it below Envoy's ext_authz call timeout when the cache is
 *     cold on purpose (Envoy's default is 200 ms), since keys are fetched in advance otherwise
 * @param jwksCacheTtl how long fetched keys are fresh; after it they are refetched in the
 *     background while still served (istiod's default refresh interval, {@code PILOT_JWT_PUB_KEY_REFRESH_INTERVAL}, is 20 min)
 * @param jwksStaleIfError how long past the TTL keys are still served while refetching fails
 * @param jwksMinRefreshInterval at most one fetch per URI in this interval, whether for an unknown
 *     {@code kid}, an expired entry or after a failure (a stream of forged {@code kid}s must not
 *     turn into a stream of fetches)
 * @param clockSkew allowed on {@code exp} and {@code nbf}; Envoy's jwt_authn default
 *     ({@code clock_skew_seconds}, which Istio leaves unset) is 60 s
 * @param maxJwksBytes the largest JWK Set document accepted from a {@code jwksUri}
 */
public record JwtOptions(
    Duration jwksTimeout,
    Duration jwksCacheTtl,
    Duration jwksStaleIfError,
    Duration jwksMinRefreshInterval,
    Duration clockSkew,
    int maxJwksBytes) {

  public static final Duration DEFAULT_JWKS_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_JWKS_CACHE_TTL = Duration.ofMinutes(20);
  public static final Duration DEFAULT_JWKS_STALE_IF_ERROR = Duration.ofHours(24);
  public static final Duration DEFAULT_JWKS_MIN_REFRESH_INTERVAL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  public static final int DEFAULT_MAX_JWKS_BYTES = 1 << 20;

  public static final JwtOptions DEFAULTS = new JwtOptions(DEFAULT_JWKS_TIMEOUT, DEFAULT_JWKS_CACHE_TTL,
      DEFAULT_JWKS_STALE_IF_ERROR, DEFAULT_JWKS_MIN_REFRESH_INTERVAL, DEFAULT_CLOCK_SKEW, DEFAULT_MAX_JWKS_BYTES);

  public JwtOptions {
    positive("jwksTimeout", jwksTimeout);
    positive("jwksCacheTtl", jwksCacheTtl);
    Objects.requireNonNull(jwksStaleIfError, "jwksStaleIfError");
    Objects.requireNonNull(jwksMinRefreshInterval, "jwksMinRefreshInterval");
    Objects.requireNonNull(clockSkew, "clockSkew");
    if (jwksStaleIfError.isNegative() || jwksMinRefreshInterval.isNegative() || clockSkew.isNegative()) {
      throw new IllegalArgumentException("jwksStaleIfError, jwksMinRefreshInterval and clockSkew must not be negative");
    }
    if (maxJwksBytes < 1) {
      throw new IllegalArgumentException("maxJwksBytes must be positive, found " + maxJwksBytes);
    }
  }

  private static void positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, found " + d);
    }
  }

  public JwtOptions withJwksTimeout(Duration timeout) {
    return new JwtOptions(timeout, jwksCacheTtl, jwksStaleIfError, jwksMinRefreshInterval, clockSkew, maxJwksBytes);
  }

  public JwtOptions withCache(Duration ttl, Duration staleIfError, Duration minRefreshInterval) {
    return new JwtOptions(jwksTimeout, ttl, staleIfError, minRefreshInterval, clockSkew, maxJwksBytes);
  }
}

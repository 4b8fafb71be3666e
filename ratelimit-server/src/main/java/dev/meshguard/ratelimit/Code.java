package dev.meshguard.ratelimit;

/** {@code RateLimitResponse.Code} of Envoy's {@code rls.proto}, without UNKNOWN (never answered). */
public enum Code {
  OK,
  OVER_LIMIT
}

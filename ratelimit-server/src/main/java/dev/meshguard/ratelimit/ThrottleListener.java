package dev.meshguard.ratelimit;

/**
 * Told of the first over-limit hit of each counter in each window (see
 * {@link RateLimitDecision#throttled()}), e.g. to write a {@code throttle} audit event. Called on
 * the request thread after the response is sent; must be quick and must not throw (an exception
 * is swallowed and counted).
 */
@FunctionalInterface
public interface ThrottleListener {

  /** Ignores every event. */
  ThrottleListener NONE = (domain, descriptor, status) -> {};

  /**
   * @param domain the request's domain
   * @param descriptor the descriptor whose counter went over
   * @param status its status: OVER_LIMIT, with the limit applied
   */
  void throttled(String domain, Descriptor descriptor, DescriptorStatus status);
}

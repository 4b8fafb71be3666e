package dev.meshguard.ratelimit;

/**
 * Told when a tenant's counted usage crosses 80% or 100% of one of its limits, e.g. to write a
 * {@code quota} audit event. Counts are atomic, so each crossing is seen by exactly one request
 * per calendar period or fixed window (a sliding window's usage falls as time passes, so it can
 * cross again within what looks like one window). Going over a soft limit crosses 100% (or more:
 * the request that carries the usage past the amount). Called on the request thread after the
 * response is sent; must be quick and must not throw (an exception is swallowed and counted).
 */
@FunctionalInterface
public interface QuotaListener {

  /** Ignores every event. */
  QuotaListener NONE = (tenant, usage, percent) -> {};

  /**
   * @param tenant the tenant
   * @param usage the limit and its usage after this request
   * @param percent 80 or 100
   */
  void crossed(String tenant, QuotaOutcome.LimitUsage usage, int percent);
}

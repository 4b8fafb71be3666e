package dev.meshguard.ratelimit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Tenant quota meters without a tenant tag (bounded cardinality):
 * {@code meshguard_ratelimit_quota_checks_total{result=admitted|denied}} and
 * {@code meshguard_ratelimit_quota_soft_over_total} (admitted requests over a soft limit).
 */
final class QuotaMeters {

  private final Counter admitted;
  private final Counter denied;
  private final Counter softOver;

  QuotaMeters(MeterRegistry registry) {
    this.admitted = Counter.builder("meshguard.ratelimit.quota.checks").tag("result", "admitted")
        .description("Requests checked against a tenant quota, by result").register(registry);
    this.denied = Counter.builder("meshguard.ratelimit.quota.checks").tag("result", "denied")
        .description("Requests checked against a tenant quota, by result").register(registry);
    this.softOver = Counter.builder("meshguard.ratelimit.quota.soft.over")
        .description("Requests admitted over a soft tenant quota limit").register(registry);
  }

  /**
   * @param admitted the quota admitted the request
   * @param softOver it was admitted over a soft limit
   */
  void count(boolean admitted, boolean softOver) {
    (admitted ? this.admitted : denied).increment();
    if (softOver) {
      this.softOver.increment();
    }
  }
}

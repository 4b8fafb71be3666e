package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * The tenant quota part of one store call: every limit of {@code quota}, checked and counted
 * together, all or nothing, for {@code tenant}.
 *
 * @param tenant whose counters (the default quota counts each tenant on its own counters)
 * @param quota the limits to apply: the tenant's own quota or the default one; not unlimited
 * @param hits how much to count; 0 reads the usage without changing it
 */
public record QuotaHit(String tenant, TenantQuota quota, long hits) {
  public QuotaHit {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(quota, "quota");
    if (quota.unlimited()) {
      throw new IllegalArgumentException("an unlimited quota is never counted");
    }
    if (hits < 0) {
      throw new IllegalArgumentException("hits must not be negative: " + hits);
    }
  }
}

package dev.meshguard.ratelimit;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every tenant quota at one moment, immutable: what a request reads (once) to find its tenant's
 * limits. A {@link QuotaStore} swaps in a new snapshot on every change.
 */
public final class QuotaSnapshot {

  /** No quotas: every tenant is unlimited. */
  public static final QuotaSnapshot EMPTY = new QuotaSnapshot(Map.of());

  private final Map<String, TenantQuota> byTenant;

  /** @param byTenant by {@link TenantQuota#tenant()}; the default quota under {@link TenantQuota#DEFAULT_TENANT} */
  public QuotaSnapshot(Map<String, TenantQuota> byTenant) {
    for (Map.Entry<String, TenantQuota> entry : byTenant.entrySet()) {
      if (!entry.getKey().equals(entry.getValue().tenant())) {
        throw new IllegalArgumentException("quota of " + entry.getValue().tenant() + " filed under " + entry.getKey());
      }
    }
    this.byTenant = Collections.unmodifiableMap(new TreeMap<>(byTenant));
  }

  /**
   * The quota that applies to {@code tenant}: its own, else the default one; null when neither
   * exists or the tenant is unlimited (nothing to check).
   */
  public TenantQuota applicable(String tenant) {
    TenantQuota own = byTenant.get(tenant);
    TenantQuota quota = own != null ? own : byTenant.get(TenantQuota.DEFAULT_TENANT);
    return quota == null || quota.unlimited() ? null : quota;
  }

  /** The tenant's own quota (or the default one, for {@link TenantQuota#DEFAULT_TENANT}), or null. */
  public TenantQuota get(String tenant) {
    return byTenant.get(tenant);
  }

  /** Every quota, sorted by tenant. */
  public Collection<TenantQuota> quotas() {
    return byTenant.values();
  }

  /** Every quota by tenant, sorted. */
  public Map<String, TenantQuota> byTenant() {
    return byTenant;
  }

  public boolean isEmpty() {
    return byTenant.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof QuotaSnapshot other && byTenant.equals(other.byTenant);
  }

  @Override
  public int hashCode() {
    return byTenant.hashCode();
  }

  @Override
  public String toString() {
    return "QuotaSnapshot" + byTenant.keySet();
  }
}

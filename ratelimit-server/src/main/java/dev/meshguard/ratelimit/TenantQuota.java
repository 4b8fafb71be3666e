package dev.meshguard.ratelimit;

import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The quota of one tenant (or the default quota, {@link #DEFAULT_TENANT}): named limits, all
 * checked and counted together for every request that carries the tenant.
 *
 * @param tenant the value of the tenant descriptor entry, or {@link #DEFAULT_TENANT}
 * @param zone the time zone of the calendar periods
 * @param limits the limits, at least one unless {@code unlimited}; names unique
 * @param unlimited no limits at all, also not the default quota's
 * @param managedBy who owns this quota: the YAML directory or the admin API
 */
public record TenantQuota(String tenant, ZoneId zone, List<QuotaLimit> limits, boolean unlimited, ManagedBy managedBy) {

  /** The tenant under which the default quota is stored: it applies to tenants without their own. */
  public static final String DEFAULT_TENANT = "*";

  /** Who owns a quota. */
  public enum ManagedBy {
    /** Declared in the quota directory: each import creates or replaces it, and removes it when gone. */
    YAML,
    /** Created through the admin API; imports leave it alone. */
    API;

    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public TenantQuota {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(zone, "zone");
    Objects.requireNonNull(managedBy, "managedBy");
    limits = List.copyOf(limits);
    if (tenant.isEmpty()) {
      throw new IllegalArgumentException("tenant must not be empty");
    }
    if (unlimited && !limits.isEmpty()) {
      throw new IllegalArgumentException("an unlimited quota has no limits");
    }
    if (!unlimited && limits.isEmpty()) {
      throw new IllegalArgumentException("a quota needs at least one limit, or unlimited");
    }
    Set<String> names = new HashSet<>();
    for (QuotaLimit limit : limits) {
      if (!names.add(limit.name())) {
        throw new IllegalArgumentException("duplicate limit name '" + limit.name() + "'");
      }
    }
  }

  /** An unlimited tenant. */
  public static TenantQuota unlimited(String tenant, ManagedBy managedBy) {
    return new TenantQuota(tenant, ZoneOffset.UTC, List.of(), true, managedBy);
  }

  /** Whether this is the default quota. */
  public boolean isDefault() {
    return DEFAULT_TENANT.equals(tenant);
  }

  /** This quota under another owner. */
  public TenantQuota withManagedBy(ManagedBy owner) {
    return new TenantQuota(tenant, zone, limits, unlimited, owner);
  }
}

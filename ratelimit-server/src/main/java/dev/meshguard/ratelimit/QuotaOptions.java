package dev.meshguard.ratelimit;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code ratelimit.quota} section: per-tenant quotas.
 *
 * @param dir the directory of {@code TenantQuota} YAML files imported into the quota store on
 *     start and on change (polled every {@code refreshInterval}); null: no files, quotas only
 *     through the admin API
 * @param tenantKey the key of the descriptor entry that names the tenant
 * @param refreshInterval how often the directory is polled and, with Redis, the quotas other
 *     replicas changed are read (and the per-tenant meters ranked)
 * @param metricsTopTenants how many tenants get metric series of their own; the rest are summed
 *     up as {@code tenant="other"}
 * @param apiTokenFile a file holding the bearer token the quota admin API requires; null: the
 *     API serves loopback callers without one
 * @param adminSpiffeIds the client SPIFFE IDs ({@code spiffe://td/ns/x/sa/y} or a {@code /*}
 *     prefix) that may call {@code meshguard.quota.v1.QuotaService} on the gRPC port without the
 *     token, by their mTLS certificate alone (needs {@code ratelimit.tls}); separate from the
 *     port's {@code allowed_peers}, who may ask {@code ShouldRateLimit}. Empty: nobody by
 *     certificate (unlike {@code allowed_peers}, empty does not mean "any authenticated peer")
 */
public record QuotaOptions(Path dir, @NotBlank String tenantKey,
    @Range(min = "10ms", max = "1h") Duration refreshInterval, @Range(min = "0", max = "1000") int metricsTopTenants,
    Path apiTokenFile, List<String> adminSpiffeIds) {

  public static final String DEFAULT_TENANT_KEY = "tenant";
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(2);
  public static final int DEFAULT_METRICS_TOP_TENANTS = 20;
  /** Tenants remembered for the per-tenant meters; later ones count only as {@code other}. */
  static final int MAX_TRACKED_TENANTS = 10_000;

  /** No quota directory; tenant key {@value #DEFAULT_TENANT_KEY}. */
  public static final QuotaOptions DEFAULTS = new QuotaOptions(null, DEFAULT_TENANT_KEY, DEFAULT_REFRESH_INTERVAL,
      DEFAULT_METRICS_TOP_TENANTS, null, List.of());

  public QuotaOptions {
    adminSpiffeIds = adminSpiffeIds == null ? List.of() : List.copyOf(adminSpiffeIds);
    Objects.requireNonNull(tenantKey, "tenantKey");
    Objects.requireNonNull(refreshInterval, "refreshInterval");
    if (tenantKey.isBlank()) {
      throw new IllegalArgumentException("tenantKey must not be blank");
    }
    if (refreshInterval.isNegative() || refreshInterval.isZero()) {
      throw new IllegalArgumentException("refreshInterval must be positive, found " + refreshInterval);
    }
    if (metricsTopTenants < 0) {
      throw new IllegalArgumentException("metricsTopTenants must not be negative, found " + metricsTopTenants);
    }
  }

  /** Without quota admins by SPIFFE ID (the token only). */
  public QuotaOptions(Path dir, String tenantKey, Duration refreshInterval, int metricsTopTenants, Path apiTokenFile) {
    this(dir, tenantKey, refreshInterval, metricsTopTenants, apiTokenFile, List.of());
  }

  public QuotaOptions withAdminSpiffeIds(List<String> ids) {
    return new QuotaOptions(dir, tenantKey, refreshInterval, metricsTopTenants, apiTokenFile, ids);
  }

  public QuotaOptions withDir(Path newDir) {
    return new QuotaOptions(newDir, tenantKey, refreshInterval, metricsTopTenants, apiTokenFile, adminSpiffeIds);
  }

  public QuotaOptions withApiTokenFile(Path file) {
    return new QuotaOptions(dir, tenantKey, refreshInterval, metricsTopTenants, file, adminSpiffeIds);
  }

  public QuotaOptions withTenantKey(String key) {
    return new QuotaOptions(dir, key, refreshInterval, metricsTopTenants, apiTokenFile, adminSpiffeIds);
  }
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.authz.AuthzOptions;
import dev.meshguard.ca.server.CaServerOptions;
import dev.meshguard.ca.workload.WorkloadApiOptions;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.ratelimit.RateLimitOptions;
import java.nio.file.Path;

/**
 * The config file of {@code meshguard up} (YAML, snake_case keys); each server adds its section
 * as it lands.
 *
 * @param fips run the Bouncy Castle FIPS module in approved-only mode
 * @param admin the admin HTTP server (localhost by default)
 * @param audit the audit log every server writes to
 * @param authz the authz server (ext_authz gRPC on 9191; policies from {@code policies/authz})
 * @param ratelimit the rate limit server (memory store; configs from {@code policies/ratelimit}, tenant
 *     quotas from {@code policies/quotas})
 * @param ca the CA server: trust domain {@value #TRUST_DOMAIN}, a CA created at first start in
 *     {@code ./meshguard-data/ca}
 * @param workloadApi the CA's SPIFFE Workload API, served when {@code workload_api.socket} is set
 */
record UpConfig(boolean fips, AdminOptions admin, AuditConfig audit, AuthzOptions authz, RateLimitOptions ratelimit,
    CaServerOptions ca, WorkloadApiOptions workloadApi) {
  /** Istio's default trust domain. */
  static final String TRUST_DOMAIN = "cluster.local";
  static final Path CA_DIR = Path.of("meshguard-data", "ca");
  /**
   * The workload of a request nothing else resolves (the HTTP service mode names none): the
   * namespace of the example policies in {@code policies/authz/demo}, so {@code up}'s HTTP port
   * decides out of the box. Deployments set their own, or the proxy's workload headers.
   */
  static final String DEMO_NAMESPACE = "demo";

  /** Tenant quotas imported by {@code up} (skipped when absent, as {@code policies/ratelimit}). */
  static final Path QUOTA_DIR = Path.of("policies", "quotas");

  static final UpConfig DEFAULTS = new UpConfig(false, AdminOptions.DEFAULTS, AuditConfig.DEFAULTS,
      AuthzOptions.builder().defaultNamespace(DEMO_NAMESPACE).build(),
      RateLimitOptions.DEFAULTS.withQuota(RateLimitOptions.DEFAULTS.quota().withDir(QUOTA_DIR)),
      CaServerOptions.DEFAULTS.withTrustDomain(TRUST_DOMAIN).withDir(CA_DIR),
      WorkloadApiOptions.DEFAULTS);
}

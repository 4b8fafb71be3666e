package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.ca.server.CaServerOptions;
import dev.meshguard.ca.workload.RegistrationEntry;
import dev.meshguard.ca.workload.WorkloadApiOptions;
import dev.meshguard.core.admin.AdminOptions;
import java.util.List;

/**
 * The config file of {@code meshguard ca} run as a server (YAML, snake_case keys): the same
 * sections as {@link UpConfig} that this server uses, so one file can serve both. The trust
 * domain and the CA directory have no default here: they come from {@code --trust-domain} and
 * {@code --dir}, the file, or {@code MESHGUARD_CA_TRUST_DOMAIN} and {@code MESHGUARD_CA_DIR}.
 *
 * @param workloadApi the SPIFFE Workload API ({@code workload_api:}); served only when its
 *     {@code socket} is set
 */
record CaServerConfig(boolean fips, AdminOptions admin, AuditConfig audit, CaServerOptions ca,
    WorkloadApiOptions workloadApi) {
  static final CaServerConfig DEFAULTS = new CaServerConfig(false, AdminOptions.DEFAULTS, AuditConfig.DEFAULTS,
      CaServerOptions.DEFAULTS, WorkloadApiOptions.DEFAULTS);

  /**
   * This config with the registration entries of {@code --workload-entry} flags, which replace
   * the file's (flags beat the file, as for every other setting); unchanged when none were given.
   */
  CaServerConfig withWorkloadEntries(List<RegistrationEntry> entries) {
    if (entries == null || entries.isEmpty()) {
      return this;
    }
    return new CaServerConfig(fips, admin, audit, ca, workloadApi.withEntries(entries));
  }
}

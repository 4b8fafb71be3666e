package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.ca.server.CaServerOptions;
import dev.meshguard.core.admin.AdminOptions;

/**
 * The config file of {@code meshguard ca} run as a server (YAML, snake_case keys): the same
 * sections as {@link UpConfig} that this server uses, so one file can serve both. The trust
 * domain and the CA directory have no default here: they come from {@code --trust-domain} and
 * {@code --dir}, the file, or {@code MESHGUARD_CA_TRUST_DOMAIN} and {@code MESHGUARD_CA_DIR}.
 */
record CaServerConfig(boolean fips, AdminOptions admin, AuditConfig audit, CaServerOptions ca) {
  static final CaServerConfig DEFAULTS = new CaServerConfig(false, AdminOptions.DEFAULTS, AuditConfig.DEFAULTS,
      CaServerOptions.DEFAULTS);
}

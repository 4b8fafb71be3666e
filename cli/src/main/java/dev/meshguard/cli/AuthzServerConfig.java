package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.authz.AuthzOptions;
import dev.meshguard.core.admin.AdminOptions;

/**
 * The config file of {@code meshguard authz} run standalone (YAML, snake_case keys): the same
 * sections as {@link UpConfig} that this server uses, so one file can serve both.
 */
record AuthzServerConfig(boolean fips, AdminOptions admin, AuditConfig audit, AuthzOptions authz) {
  static final AuthzServerConfig DEFAULTS = new AuthzServerConfig(false, AdminOptions.DEFAULTS, AuditConfig.DEFAULTS,
      AuthzOptions.DEFAULTS);
}

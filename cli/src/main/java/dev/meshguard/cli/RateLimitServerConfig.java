package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.ratelimit.RateLimitOptions;

/**
 * The config file of {@code meshguard ratelimit} run standalone (YAML, snake_case keys): the same
 * sections as {@link UpConfig} that this server uses, so one file can serve both.
 */
record RateLimitServerConfig(boolean fips, AdminOptions admin, AuditConfig audit, RateLimitOptions ratelimit) {
  static final RateLimitServerConfig DEFAULTS = new RateLimitServerConfig(false, AdminOptions.DEFAULTS,
      AuditConfig.DEFAULTS, RateLimitOptions.DEFAULTS);
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.ratelimit.RateLimitOptions;

/**
 * The config file of {@code meshguard up} (YAML, snake_case keys); each server adds its section
 * as it lands.
 *
 * @param fips run the Bouncy Castle FIPS module in approved-only mode
 * @param admin the admin HTTP server (localhost by default)
 * @param audit the audit log every server writes to
 * @param ratelimit the rate limit server (memory store; configs from {@code policies/ratelimit})
 */
record UpConfig(boolean fips, AdminOptions admin, AuditConfig audit, RateLimitOptions ratelimit) {
  static final UpConfig DEFAULTS = new UpConfig(false, AdminOptions.DEFAULTS, AuditConfig.DEFAULTS,
      RateLimitOptions.DEFAULTS);
}

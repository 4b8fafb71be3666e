package dev.meshguard.cli;

import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditConfig;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.ratelimit.DescriptorStatus;
import dev.meshguard.ratelimit.QuotaAdminApi;
import dev.meshguard.ratelimit.QuotaListener;
import dev.meshguard.ratelimit.QuotaOutcome;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.ThrottleListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/** Starting the rate limit server from a command, and what the banner says about it. */
final class RateLimits {
  private RateLimits() {}

  /**
   * Starts the server and its reload scheduler, handing both to {@code own} to close (the server
   * first).
   *
   * @throws ConfigException when the config directory is missing or does not load
   */
  static RateLimitServer start(RateLimitOptions options, Crypto crypto, Clock clock, Metrics metrics, AuditLog audit,
      AuditConfig auditConfig, Consumer<AutoCloseable> own) throws IOException, ConfigException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "meshguard-ratelimit-reload");
      thread.setDaemon(true);
      return thread;
    });
    own.accept(scheduler::shutdownNow);
    AtomicReference<RateLimitServer> self = new AtomicReference<>();
    ThrottleListener toAudit = (domain, descriptor, status) -> audit.append(
        throttleEvent(clock, domain, descriptor, status, revisionOf(self.get())), auditConfig.durabilityOf("ratelimit"));
    QuotaListener quotaToAudit = (tenant, usage, percent) -> audit.append(quotaEvent(clock, tenant, usage, percent),
        auditConfig.durabilityOf("ratelimit"));
    RateLimitServer server = RateLimitServer.start(options, clock, scheduler, metrics.registry(), toAudit,
        quotaToAudit, crypto);
    self.set(server);
    own.accept(server);
    return server;
  }

  /**
   * As {@link #start}, except that {@code meshguard up} run away from a checkout (no
   * {@code policies/ratelimit} where the default points) runs without the rate limit server
   * rather than failing; a directory configured explicitly must exist.
   *
   * @return the server, or null when it was skipped
   */
  static RateLimitServer startForUp(RateLimitOptions options, Crypto crypto, Clock clock, Metrics metrics,
      AuditLog audit, AuditConfig auditConfig, Consumer<AutoCloseable> own) throws IOException, ConfigException {
    if (options.configDir().equals(RateLimitOptions.DEFAULT_CONFIG_DIR) && !Files.isDirectory(options.configDir())) {
      return null;
    }
    if (UpConfig.QUOTA_DIR.equals(options.quota().dir()) && !Files.isDirectory(UpConfig.QUOTA_DIR)) {
      options = options.withQuota(options.quota().withDir(null)); // up's default, absent here: no quota files
    }
    return start(options, crypto, clock, metrics, audit, auditConfig, own);
  }

  /** Longer descriptor values are cut in the audit record: they come from requests. */
  static final int MAX_AUDITED_VALUE = 256;

  /**
   * A {@code throttle} event: the first over-limit hit of one counter in one window. The object's
   * {@code descriptors} is {@code domain: key=value, ...}; the policy is the limit's name (null
   * when it has none), the domain as the rule, and the config revision.
   */
  static AuditEvent throttleEvent(Clock clock, String domain, Descriptor descriptor, DescriptorStatus status,
      String revision) {
    StringBuilder descriptors = new StringBuilder(domain).append(':');
    String separator = " ";
    for (Descriptor.Entry entry : descriptor.entries()) {
      descriptors.append(separator).append(entry.key()).append('=').append(cut(entry.value()));
      separator = ", ";
    }
    var limit = status.currentLimit();
    String name = limit == null || limit.name().isEmpty() ? null : limit.name();
    String reason = limit == null ? "over limit"
        : "over limit: " + limit.requestsPerUnit() + " per " + limit.unit().name().toLowerCase(java.util.Locale.ROOT);
    return new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "throttle", "over_limit", null,
        new AuditEvent.AuditObject(null, null, null, null, descriptors.toString(), null, null, null),
        new AuditEvent.PolicyRef(name, domain, revision), reason, 0);
  }

  /**
   * A {@code quota} event: a tenant's usage of one quota limit crossed 80% or 100% (once per
   * period). Outcome {@code quota_80} or {@code quota_100}; the object's {@code descriptors} is
   * {@code tenant=NAME}; the policy is the limit's name with the tenant as the rule.
   */
  static AuditEvent quotaEvent(Clock clock, String tenant, QuotaOutcome.LimitUsage usage, int percent) {
    var limit = usage.limit();
    String reason = percent + "% of " + limit.enforcement().configName() + " quota limit " + limit.name() + ": "
        + usage.used() + " of " + limit.amount() + " per " + limit.period().describe();
    return new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "quota", "quota_" + percent, null,
        new AuditEvent.AuditObject(null, null, null, null, "tenant=" + cut(tenant), null, null, null),
        new AuditEvent.PolicyRef(limit.name(), cut(tenant), null), reason, 0);
  }

  /**
   * Serves the quota admin API ({@link QuotaAdminApi}) on the admin server, every change written
   * to the audit log durably ({@link Durability#DURABLE}, whatever the component's configured
   * durability: a quota change is a contract change), and lists the {@code quota} component on
   * {@code /status}.
   *
   * @throws IOException when {@code ratelimit.quota.api_token_file} cannot be read
   */
  static void serveQuotaApi(RateLimitServer server, RateLimitOptions options, AdminServer admin, AuditLog audit,
      Clock clock) throws IOException {
    QuotaAdminApi api = QuotaAdminApi.create(server, options.quota().apiTokenFile(), clock,
        change -> audit.append(quotaChangeEvent(clock, change), Durability.DURABLE) == AppendOutcome.WRITTEN);
    admin.route(QuotaAdminApi.PATH, api);
    String url = "http://" + admin.endpoint() + QuotaAdminApi.PATH;
    admin.register(() -> server.quotaStatus(url));
  }

  /**
   * A {@code quota-change} event: a quota created, replaced or deleted, or a tenant's usage reset
   * through the admin API. Outcome the operation; subject the caller ({@code token} or
   * {@code local}) and its address; object {@code tenant=NAME}; reason the before and after
   * values as JSON: {@code {"before":...,"after":...}} (null when there was none).
   */
  static AuditEvent quotaChangeEvent(Clock clock, QuotaAdminApi.Change change) {
    com.fasterxml.jackson.databind.node.ObjectNode values = CHANGE_JSON.createObjectNode();
    try {
      values.set("before", change.before() == null ? null : CHANGE_JSON.readTree(change.before()));
      values.set("after", change.after() == null ? null : CHANGE_JSON.readTree(change.after()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("the quota API hands over JSON it wrote", e);
    }
    return new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "quota-change", change.operation(),
        new AuditEvent.Subject(change.caller(), null, change.sourceIp()),
        new AuditEvent.AuditObject(null, null, null, null, "tenant=" + cut(change.tenant()), null, null, null),
        new AuditEvent.PolicyRef(null, cut(change.tenant()), null), values.toString(), 0);
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper CHANGE_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  private static String revisionOf(RateLimitServer server) {
    return server == null ? null : server.revision(); // a request raced start: no revision to name
  }

  private static String cut(String value) {
    return value.length() <= MAX_AUDITED_VALUE ? value : value.substring(0, MAX_AUDITED_VALUE) + "...";
  }

  /** The banner lines: where it listens, what it loaded, and what to point Envoy at. */
  static void printBanner(PrintWriter out, RateLimitOptions options, RateLimitServer server) {
    if (server == null) {
      out.printf("  %-10s not started: no %s here (set ratelimit.config_dir or MESHGUARD_RATELIMIT_CONFIG_DIR)%n",
          "ratelimit", options.configDir());
      return;
    }
    out.printf("  %-10s grpc://%s  %d domains (%s) from %s, revision %s%n", "ratelimit", server.endpoint(),
        server.config().domains().size(), String.join(", ", server.config().domains()),
        options.configDir().toAbsolutePath().normalize(), server.revision());
    out.printf("  %-10s store: %s%n", "", server.storeName());
    out.printf("  %-10s Envoy: rate_limit_service -> grpc cluster (HTTP/2) at %s, transport_api_version V3%n", "",
        server.endpoint());
    if (options.shadowMode()) {
      out.printf("  %-10s shadow_mode: on -- every over-limit request is answered OK (counted, not denied)%n", "");
    }
  }
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.authz.AuthzOptions;
import dev.meshguard.authz.AuthzServer;
import dev.meshguard.authz.DecisionAudit;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/** Starting the authz server from a command, and what the banner says about it. */
final class AuthzServers {
  private AuthzServers() {}

  /**
   * Starts the server and its reload scheduler, handing both to {@code own} to close (the server
   * first). Audited decisions go to {@code audit} with the {@code authz} durability.
   */
  static AuthzServer start(AuthzOptions options, Crypto crypto, Clock clock, Metrics metrics, AuditLog audit,
      AuditConfig auditConfig, Consumer<AutoCloseable> own) throws IOException, ConfigException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "meshguard-authz-reload");
      thread.setDaemon(true);
      return thread;
    });
    own.accept(scheduler::shutdownNow);
    Durability durability = auditConfig.durabilityOf(AuthzServer.COMPONENT);
    DecisionAudit toAudit = event -> audit.append(event, durability);
    AuthzServer server = AuthzServer.start(options, crypto, clock, scheduler, metrics.registry(), toAudit);
    own.accept(server);
    return server;
  }

  /**
   * As {@link #start}, except that {@code meshguard up} run away from a checkout (no
   * {@code policies/authz} where the default points) runs without the authz server.
   *
   * @return the server, or null when it was skipped
   */
  static AuthzServer startForUp(AuthzOptions options, Crypto crypto, Clock clock, Metrics metrics, AuditLog audit,
      AuditConfig auditConfig, Consumer<AutoCloseable> own) throws IOException, ConfigException {
    if (options.bundle() == null && options.policies().equals(List.of(AuthzOptions.DEFAULT_POLICIES))
        && !Files.isDirectory(AuthzOptions.DEFAULT_POLICIES)) {
      return null;
    }
    return start(options, crypto, clock, metrics, audit, auditConfig, own);
  }

  static void printBanner(PrintWriter out, AuthzOptions options, AuthzServer server) {
    if (server == null) {
      out.printf("  %-10s not started: no %s here (set authz.policies or MESHGUARD_AUTHZ_POLICIES)%n", "authz",
          AuthzOptions.DEFAULT_POLICIES);
      return;
    }
    var snapshot = server.snapshot();
    out.printf("  %-10s grpc://%s  %s from %s%n", "authz", server.endpoint(),
        snapshot == null ? "no policies loaded" : snapshot.policyCount() + " policies, revision " + snapshot.revision(),
        options.bundle() != null ? "bundle " + options.bundle() : options.policies());
    out.printf("  %-10s Envoy: ext_authz grpc_service -> cluster (HTTP/2) at %s, transport_api_version V3%n", "",
        server.endpoint());
    if (server.httpEndpoint() == null) {
      out.printf("  %-10s HTTP service mode off (authz.http_port -1)%n", "");
    } else {
      out.printf("  %-10s http://%s%s  HTTP service mode: nginx auth_request, Traefik forward-auth, Envoy http_service"
          + " (path_prefix %s)%n", "", server.httpEndpoint(), options.httpPathPrefix(),
          options.httpPathPrefix().isEmpty() ? "none" : options.httpPathPrefix());
    }
    if (server.lastError() != null) {
      out.printf("  %-10s %s%n", "", server.lastError());
    }
  }
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.server.CaServer;
import dev.meshguard.ca.server.CaServerOptions;
import dev.meshguard.ca.workload.WorkloadApiOptions;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/** Starting the CA server from a command, and what the banner says about it. */
final class CaServers {
  private CaServers() {}

  /**
   * Starts the CA server (with the Workload API when {@code workload} names a socket) and its
   * scheduler (rotation ticks, CA and TLS file polls, serving-certificate renewals, Workload API
   * refreshes), handing both to {@code own} to close (the server first).
   */
  static CaServer start(CaServerOptions options, WorkloadApiOptions workload, Crypto crypto, Clock clock,
      MeterRegistry registry, AuditLog audit, AuditConfig auditConfig, Consumer<AutoCloseable> own)
      throws IOException, ConfigException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "meshguard-ca-scheduler");
      thread.setDaemon(true);
      return thread;
    });
    own.accept(scheduler::shutdownNow);
    // The Workload API, when configured, runs inside the CA server on the same rotation, and the
    // server closes it first.
    CaServer server = CaServer.start(options, workload, crypto, clock, scheduler, registry, audit,
        auditConfig.durabilityOf(CaServer.COMPONENT));
    own.accept(server);
    return server;
  }

  /** The banner lines: where both servers listen, the CA, and what to point istio-agent at. */
  static void printBanner(PrintWriter out, CaServerOptions options, CaServer server, Crypto crypto) {
    var signing = server.ca().signingCertificate();
    out.printf("  %-10s grpc://%s  Istio CA API for spiffe://%s (TLS by %s), CA in %s (valid until %s)%n", "ca",
        server.endpoint(), server.ca().trustDomain(), crypto.tlsProvider().getName(),
        options.dir().toAbsolutePath().normalize(), signing.getNotAfter().toInstant());
    out.printf("  %-10s istio-agent: CA_ADDR=<one of %s>:%d, mesh root %s%n", "", String.join(", ",
        options.serverDnsNames()), server.port(), options.dir().resolve(CaDirectory.ROOT_CERT).toAbsolutePath().normalize());
    out.printf("  %-10s %s%n", "", options.authentication().clusters().isEmpty()
        ? "no token clusters (ca.authentication.clusters): only renewals with a client certificate from this CA"
        : "service account tokens of clusters " + String.join(", ", options.authentication().clusters().keySet())
            + " (primary " + options.authentication().primaryCluster() + ")");
    out.printf("  %-10s %s%n", "", server.describeRotation());
    out.printf("  %-10s %s  SPIFFE trust bundle (https_web)%n", "bundle", server.bundleUrl());
    server.workloadApi().ifPresent(api -> out.printf("  %-10s %s  SPIFFE Workload API, %d registration entries"
        + " (SPIFFE_ENDPOINT_SOCKET=%s)%n", "workload", api.endpointAddress(), api.entryCount(), api.endpointAddress()));
  }
}

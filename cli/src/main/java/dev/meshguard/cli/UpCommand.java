package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.EventIds;
import dev.meshguard.audit.sink.AuditSinks;
import dev.meshguard.core.Version;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.RateLimitServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard up}: every meshguard server in one JVM, with embedded defaults on localhost,
 * one admin server whose {@code /status} lists every component, and one audit log shared by all.
 * Runs until SIGINT/SIGTERM, then closes everything in reverse start order.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = {"Run every meshguard server in one JVM with embedded defaults on localhost.",
        "Prints each server's ports and what to point Envoy at; Ctrl-C stops."})
final class UpCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Mixin
  private ConfigOptions options;

  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    UpConfig config;
    Crypto crypto;
    try {
      config = options.load(UpConfig.DEFAULTS, System.getenv());
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      closeAll();
      out.println("meshguard stopped");
      out.flush();
      stopped.countDown();
    }, "meshguard-shutdown"));
    try {
      start(config, crypto, out);
    } catch (ConfigException e) {
      closeAll();
      return CliErrors.configError(spec, e);
    } catch (IOException | RuntimeException e) {
      closeAll();
      throw e;
    }
    awaitStop();
    return 0;
  }

  private void start(UpConfig config, Crypto crypto, PrintWriter out) throws IOException, ConfigException {
    Clock clock = Clock.SYSTEM;
    Metrics metrics = started(Metrics.create());
    // Sinks start before the log and so close after it: the log's last checkpoint is shipped too.
    AuditSinks sinks = started(AuditSinks.start(config.audit().sinks(), config.audit().directory(), System.out,
        clock, metrics.registry()));
    AuditLog audit = started(AuditLog.open(config.audit().toOptions(), clock, metrics.registry()));
    AdminServer admin = started(AdminServer.start(config.admin(), metrics, "up", crypto.isFips(), clock));
    String auditDir = config.audit().directory().toAbsolutePath().normalize().toString();
    Map<String, String> auditEndpoints = sinks.http()
        .map(http -> Map.of("directory", auditDir, "http_sink", config.audit().sinks().http().url()))
        .orElse(Map.of("directory", auditDir));
    admin.register(() -> ComponentStatus.ready("audit", null, auditEndpoints));

    audit.append(new AuditEvent(clock.now(), EventIds.next(clock), "meshguard", "start", "started", null, null,
        null, "meshguard " + Version.current() + " up; admin " + admin.endpoint(), 0),
        config.audit().durabilityOf("meshguard"));

    RateLimitServer ratelimit = RateLimits.startForUp(config.ratelimit(), clock, metrics, audit,
        config.audit(), this::started);
    if (ratelimit != null) {
      admin.register(ratelimit);
    }

    out.printf("meshguard %s up (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", admin.endpoint());
    RateLimits.printBanner(out, config.ratelimit(), ratelimit);
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", auditDir, auditDir);
    out.println("Ready. Ctrl-C stops.");
    out.flush();
  }

  private <T extends AutoCloseable> T started(T closeable) {
    synchronized (running) {
      running.push(closeable);
    }
    return closeable;
  }

  private void awaitStop() {
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void closeAll() {
    synchronized (running) {
      while (!running.isEmpty()) {
        try {
          running.pop().close();
        } catch (Exception e) {
          System.err.println("meshguard: error while stopping: " + e);
        }
      }
    }
  }
}

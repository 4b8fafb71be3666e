package dev.meshguard.cli;

import dev.meshguard.audit.AuditConfig;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.sink.AuditSinks;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What every server command shares: the things it started, closed in reverse order on SIGINT or
 * SIGTERM; and the parts every server runs (metrics, audit sinks, the audit log, the admin
 * server).
 */
final class ServerRuntime {
  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  /** Starts a server's parts; throws to abort, after which everything started is closed. */
  @FunctionalInterface
  interface Starter {
    void start(ServerRuntime runtime) throws IOException, ConfigException;
  }

  /**
   * The parts every server runs.
   *
   * @param auditDirectory the audit directory, absolute, for banners and {@code /status}
   */
  record Common(Clock clock, Metrics metrics, AuditLog audit, AdminServer admin, String auditDirectory) {}

  /**
   * Runs {@code starter}, then waits until the JVM is asked to stop and closes everything started.
   *
   * @return the exit code: 0, or {@link CliErrors#CONFIG} when the starter refused the config
   */
  static int run(CommandSpec spec, String stoppedMessage, Starter starter) throws IOException {
    ServerRuntime runtime = new ServerRuntime();
    PrintWriter out = spec.commandLine().getOut();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      runtime.closeAll();
      out.println(stoppedMessage);
      out.flush();
      runtime.stopped.countDown();
    }, "meshguard-shutdown"));
    try {
      starter.start(runtime);
    } catch (ConfigException e) {
      runtime.closeAll();
      return CliErrors.configError(spec, e);
    } catch (IOException | RuntimeException e) {
      runtime.closeAll();
      throw e;
    }
    try {
      runtime.stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /**
   * Starts metrics, the audit sinks, the audit log and the admin server, and lists the log on
   * {@code /status}. Sinks start before the log and so close after it: its last checkpoint is
   * shipped too.
   */
  Common startCommon(String processName, AdminOptions adminOptions, AuditConfig auditConfig, Crypto crypto)
      throws IOException, ConfigException {
    boolean fips = crypto.isFips();
    Clock clock = Clock.SYSTEM;
    Metrics metrics = started(Metrics.create());
    AuditSinks sinks = started(AuditSinks.start(auditConfig.sinks(), auditConfig.directory(), System.out, clock,
        metrics.registry(), crypto));
    AuditLog audit = started(AuditLog.open(auditConfig.toOptions(), clock, metrics.registry()));
    AdminServer admin = started(AdminServer.start(adminOptions, metrics, processName, fips, clock));
    String auditDir = auditConfig.directory().toAbsolutePath().normalize().toString();
    Map<String, String> auditEndpoints = sinks.http()
        .map(http -> Map.of("directory", auditDir, "http_sink", auditConfig.sinks().http().url()))
        .orElse(Map.of("directory", auditDir));
    admin.register(() -> ComponentStatus.ready("audit", null, auditEndpoints));
    return new Common(clock, metrics, audit, admin, auditDir);
  }

  /** Registers {@code closeable} to be closed at shutdown (in reverse start order). */
  <T extends AutoCloseable> T started(T closeable) {
    synchronized (running) {
      running.push(closeable);
    }
    return closeable;
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

package dev.meshguard.cli;

import dev.meshguard.core.Version;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard up}: every meshguard server in one JVM, with embedded defaults on localhost and
 * one admin server whose {@code /status} lists every component. Runs until SIGINT/SIGTERM, then
 * closes the servers in reverse start order.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = {"Run every meshguard server in one JVM with embedded defaults on localhost.",
        "Prints each server's ports and what to point Envoy at; Ctrl-C stops."})
final class UpCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Option(names = "--admin-port", paramLabel = "PORT",
      description = "Admin HTTP port on 127.0.0.1 (/healthz /readyz /metrics /status); default ${DEFAULT-VALUE}.",
      defaultValue = "" + AdminOptions.DEFAULT_PORT)
  private int adminPort;

  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    Metrics metrics = Metrics.create();
    running.push(metrics);
    AdminServer admin;
    try {
      admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(adminPort), metrics, "up", false, Clock.SYSTEM);
    } catch (IOException e) {
      closeAll();
      throw e;
    }
    running.push(admin);

    out.printf("meshguard %s up (fips mode: off)%n", Version.current());
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", admin.endpoint());
    out.println("Ready. Ctrl-C stops.");
    out.flush();

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      closeAll();
      out.println("meshguard stopped");
      out.flush();
      stopped.countDown();
    }, "meshguard-shutdown"));
    awaitStop();
    return 0;
  }

  private void awaitStop() {
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void closeAll() {
    while (!running.isEmpty()) {
      try {
        running.pop().close();
      } catch (Exception e) {
        System.err.println("meshguard: error while stopping: " + e);
      }
    }
  }
}

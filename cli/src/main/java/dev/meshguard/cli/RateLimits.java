package dev.meshguard.cli;

import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.concurrent.Executors;
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
  static RateLimitServer start(RateLimitOptions options, Clock clock, Metrics metrics, Consumer<AutoCloseable> own)
      throws IOException, ConfigException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "meshguard-ratelimit-reload");
      thread.setDaemon(true);
      return thread;
    });
    own.accept(scheduler::shutdownNow);
    RateLimitServer server = RateLimitServer.start(options, clock, scheduler, metrics.registry());
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
  static RateLimitServer startForUp(RateLimitOptions options, Clock clock, Metrics metrics,
      Consumer<AutoCloseable> own) throws IOException, ConfigException {
    if (options.configDir().equals(RateLimitOptions.DEFAULT_CONFIG_DIR) && !Files.isDirectory(options.configDir())) {
      return null;
    }
    return start(options, clock, metrics, own);
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
    out.printf("  %-10s Envoy: rate_limit_service -> grpc cluster (HTTP/2) at %s, transport_api_version V3%n", "",
        server.endpoint());
  }
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.EventIds;
import dev.meshguard.audit.sink.AuditSinks;
import dev.meshguard.core.Version;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.RateLimitConfig;
import dev.meshguard.ratelimit.RateLimitServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard ratelimit}: Envoy's global rate limit service (RLS v3) standalone, on the
 * memory store, with its admin server and audit log; {@code meshguard ratelimit validate} checks
 * configs offline. Runs until SIGINT/SIGTERM, then closes everything in reverse start order.
 */
@Command(name = "ratelimit", mixinStandardHelpOptions = true,
    description = {"Run Envoy's global rate limit service (envoy.service.ratelimit.v3) on configs in the",
        "envoyproxy/ratelimit YAML format, reloading them when they change; Ctrl-C stops."},
    subcommands = RateLimitCommand.Validate.class)
final class RateLimitCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Mixin
  private ConfigOptions options;

  @Option(names = "--config-dir", paramLabel = "DIR",
      description = "Directory of rate limit configs (*.yaml, *.yml, recursively); default policies/ratelimit.")
  private Path configDir;

  @Option(names = "--port", paramLabel = "PORT", description = "gRPC port; default 8081, as envoyproxy/ratelimit.")
  private Integer port;

  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    Map<String, String> flags = new LinkedHashMap<>();
    if (configDir != null) {
      flags.put("ratelimit.config_dir", configDir.toString());
    }
    if (port != null) {
      flags.put("ratelimit.port", port.toString());
    }
    RateLimitServerConfig config;
    Crypto crypto;
    try {
      config = options.load(RateLimitServerConfig.DEFAULTS, System.getenv(), flags);
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      closeAll();
      out.println("meshguard ratelimit stopped");
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
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private void start(RateLimitServerConfig config, Crypto crypto, PrintWriter out)
      throws IOException, ConfigException {
    Clock clock = Clock.SYSTEM;
    Metrics metrics = started(Metrics.create());
    AuditSinks sinks = started(AuditSinks.start(config.audit().sinks(), config.audit().directory(), System.out,
        clock, metrics.registry()));
    AuditLog audit = started(AuditLog.open(config.audit().toOptions(), clock, metrics.registry()));
    AdminServer admin = started(AdminServer.start(config.admin(), metrics, "ratelimit", crypto.isFips(), clock));
    RateLimitServer server = RateLimits.start(config.ratelimit(), clock, metrics, audit, config.audit(),
        this::started);
    admin.register(server);
    audit.append(new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "start", "started", null, null,
        null, "meshguard " + Version.current() + " ratelimit; grpc " + server.endpoint() + ", revision "
            + server.revision(), 0), config.audit().durabilityOf("meshguard"));

    out.printf("meshguard %s ratelimit (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", admin.endpoint());
    RateLimits.printBanner(out, config.ratelimit(), server);
    String auditDir = config.audit().directory().toAbsolutePath().normalize().toString();
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", auditDir, auditDir);
    if (sinks.http().isPresent()) {
      out.printf("  %-10s %s%n", "", config.audit().sinks().http().url());
    }
    out.println("Ready. Ctrl-C stops.");
    out.flush();
  }

  private <T extends AutoCloseable> T started(T closeable) {
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

  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = {"Check rate-limit configs offline, as the server would load them.",
          "Exit 0 when valid; 1 with every error (file:line:column, key path, what is wrong)."})
  static final class Validate implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "DIR|FILE", arity = "1..*",
        description = "Config directories (searched recursively for *.yaml, *.yml) or files.")
    private List<Path> paths;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      for (Path path : paths) {
        if (!Files.exists(path)) {
          err.println(path + ": no such file or directory");
          err.flush();
          return 1;
        }
      }
      try {
        RateLimitConfig config = RateLimitConfig.load(paths);
        out.println("OK: " + config.domains().size() + (config.domains().size() == 1 ? " domain: " : " domains: ")
            + String.join(", ", config.domains().stream().sorted().toList()));
        out.flush();
        return 0;
      } catch (ConfigException e) {
        for (ConfigError error : e.errors()) {
          err.println(error.render());
        }
        err.println(e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"));
        err.flush();
        return 1;
      }
    }
  }
}

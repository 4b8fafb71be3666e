package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.Version;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard ratelimit}: Envoy's global rate limit service (RLS v3) standalone, on the
 * memory store or Redis ({@code --store}), with its admin server and audit log; {@code meshguard ratelimit validate} checks
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

  @Option(names = "--store", paramLabel = "STORE",
      description = {"Where counters live: memory (default, one instance), redis://HOST:PORT (rediss:// for TLS),",
          "redis-cluster://HOST:PORT,HOST:PORT or redis-sentinel://HOST:PORT,.../MASTER."})
  private String store;

  @Option(names = "--tls-cert", paramLabel = "FILE",
      description = "TLS on the gRPC port: the server's certificate chain (ratelimit.tls.cert_file).")
  private Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "Its key (ratelimit.tls.key_file).")
  private Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "The CAs client certificates must chain to (ratelimit.tls.trust_bundle_file).")
  private Path tlsCa;

  @Option(names = "--allowed-peer", paramLabel = "SPIFFE_ID",
      description = {"A client SPIFFE ID (or a /* prefix) allowed to ask ShouldRateLimit; repeatable",
          "(ratelimit.tls.allowed_peers; none: any client with a valid SVID)."})
  private List<String> allowedPeers;

  @Option(names = "--quota-admin", paramLabel = "SPIFFE_ID",
      description = {"A client SPIFFE ID (or a /* prefix) allowed to call the quota service by its certificate;",
          "repeatable (ratelimit.quota.admin_spiffe_ids)."})
  private List<String> quotaAdmins;

  @Override
  public Integer call() throws IOException {
    Map<String, String> flags = new LinkedHashMap<>();
    if (tlsCert != null) {
      flags.put("ratelimit.tls.cert_file", tlsCert.toString());
    }
    if (tlsKey != null) {
      flags.put("ratelimit.tls.key_file", tlsKey.toString());
    }
    if (tlsCa != null) {
      flags.put("ratelimit.tls.trust_bundle_file", tlsCa.toString());
    }
    if (allowedPeers != null) {
      flags.put("ratelimit.tls.allowed_peers", String.join(",", allowedPeers));
    }
    if (quotaAdmins != null) {
      flags.put("ratelimit.quota.admin_spiffe_ids", String.join(",", quotaAdmins));
    }
    if (configDir != null) {
      flags.put("ratelimit.config_dir", configDir.toString());
    }
    if (port != null) {
      flags.put("ratelimit.port", port.toString());
    }
    if (store != null) {
      flags.put("ratelimit.store", store);
    }
    RateLimitServerConfig config;
    Crypto crypto;
    try {
      config = options.load(RateLimitServerConfig.DEFAULTS, System.getenv(), flags);
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    return ServerRuntime.run(spec, "meshguard ratelimit stopped", runtime -> start(runtime, config, crypto));
  }

  private void start(ServerRuntime runtime, RateLimitServerConfig config, Crypto crypto)
      throws IOException, ConfigException {
    PrintWriter out = spec.commandLine().getOut();
    ServerRuntime.Common common = runtime.startCommon("ratelimit", config.admin(), config.audit(), crypto);
    Clock clock = common.clock();
    RateLimitServer server = RateLimits.start(config.ratelimit(), crypto, clock, common.metrics(), common.audit(),
        config.audit(), runtime::started);
    common.admin().register(server);
    RateLimits.serveQuotaApi(server, config.ratelimit(), common.admin(), common.audit(), clock);
    common.audit().append(new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "start", "started", null,
        null, null, "meshguard " + Version.current() + " ratelimit; grpc " + server.endpoint() + ", revision "
            + server.revision(), 0), config.audit().durabilityOf("meshguard"));

    out.printf("meshguard %s ratelimit (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status /v1/quotas%n", "admin",
        common.admin().endpoint());
    RateLimits.printBanner(out, config.ratelimit(), server);
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", common.auditDirectory(),
        common.auditDirectory());
    common.admin().markStarted();
    out.println("Ready. Ctrl-C stops.");
    out.flush();
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

package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.authz.AuthzServer;
import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard authz}: Envoy's external authorization service (ext_authz v3, gRPC) deciding
 * with Istio AuthorizationPolicies, with its admin server and audit log. Runs until
 * SIGINT/SIGTERM, then closes everything in reverse start order.
 */
@Command(name = "authz", mixinStandardHelpOptions = true,
    description = {"Run Envoy's external authorization service (envoy.service.auth.v3.Authorization) on",
        "Istio AuthorizationPolicy files, reloading them when they change, and its HTTP service mode",
        "(Envoy http_service, nginx auth_request, Traefik forward-auth); Ctrl-C stops."})
final class AuthzCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Mixin
  private ConfigOptions options;

  @Option(names = "--policies", paramLabel = "PATH", arity = "1..*",
      description = "Policy files or directories (*.yaml, *.yml, *.json, recursively); default policies/authz.")
  private List<Path> policies;

  @Option(names = "--mesh-config", paramLabel = "FILE",
      description = "Istio MeshConfig YAML (rootNamespace, trustDomain, aliases, extensionProviders).")
  private Path meshConfig;

  @Option(names = "--port", paramLabel = "PORT", description = "gRPC port; default 9191.")
  private Integer port;

  @Option(names = "--bundle", paramLabel = "DIR|FILE|URL", description = {
      "Load the policies from a signed bundle instead of --policies: a bundle directory",
      "(meshguard policy bundle), a ZIP file of one, or an https:// URL serving the ZIP",
      "(polled every authz.bundle_poll_interval, default 30s, with If-None-Match)."})
  private String bundle;

  @Option(names = "--bundle-key", paramLabel = "PUB.pem", description = {
      "The public key bundles must be signed with (meshguard policy keygen writes KEY.pub.pem);",
      "required with --bundle. A bundle that does not verify is refused; the last good one keeps serving."})
  private Path bundleKey;

  @Option(names = "--http-port", paramLabel = "PORT",
      description = "HTTP service mode port (Envoy http_service, nginx auth_request, Traefik forward-auth); "
          + "default 9192, 0 a free port, -1 off.")
  private Integer httpPort;

  @Override
  public Integer call() throws IOException {
    Map<String, String> flags = new LinkedHashMap<>();
    if (policies != null) {
      flags.put("authz.policies", policies.stream().map(Path::toString).collect(Collectors.joining(",")));
    }
    if (meshConfig != null) {
      flags.put("authz.mesh_config", meshConfig.toString());
    }
    if (port != null) {
      flags.put("authz.port", port.toString());
    }
    if (bundle != null && policies != null) {
      throw new ParameterException(spec.commandLine(), "--bundle and --policies are alternatives: the policies come "
          + "from the bundle or from files, not both");
    }
    if (bundle != null) {
      flags.put("authz.bundle", bundle);
    }
    if (bundleKey != null) {
      flags.put("authz.bundle_key", bundleKey.toString());
    }
    if (httpPort != null) {
      flags.put("authz.http_port", httpPort.toString());
    }
    AuthzServerConfig config;
    Crypto crypto;
    try {
      config = options.load(AuthzServerConfig.DEFAULTS, System.getenv(), flags);
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    return ServerRuntime.run(spec, "meshguard authz stopped", runtime -> start(runtime, config, crypto));
  }

  private void start(ServerRuntime runtime, AuthzServerConfig config, Crypto crypto)
      throws IOException, ConfigException {
    PrintWriter out = spec.commandLine().getOut();
    ServerRuntime.Common common = runtime.startCommon("authz", config.admin(), config.audit(), crypto);
    Clock clock = common.clock();
    AuthzServer server = AuthzServers.start(config.authz(), crypto, clock, common.metrics(), common.audit(),
        config.audit(), runtime::started);
    common.admin().register(server);
    common.audit().append(new AuditEvent(clock.now(), EventIds.next(clock), "authz", "start", "started", null,
        null, null, "meshguard " + Version.current() + " authz; grpc " + server.endpoint()
            + (server.httpEndpoint() == null ? "" : ", http " + server.httpEndpoint()) + ", revision "
            + server.revision(), 0), config.audit().durabilityOf("meshguard"));

    out.printf("meshguard %s authz (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", common.admin().endpoint());
    AuthzServers.printBanner(out, config.authz(), server);
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", common.auditDirectory(),
        common.auditDirectory());
    common.admin().markStarted();
    out.println("Ready. Ctrl-C stops.");
    out.flush();
  }
}

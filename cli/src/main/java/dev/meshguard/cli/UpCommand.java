package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.authz.AuthzServer;
import dev.meshguard.ca.server.CaServer;
import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.RateLimitServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
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

  @Override
  public Integer call() throws IOException {
    UpConfig config;
    Crypto crypto;
    try {
      config = options.load(UpConfig.DEFAULTS, System.getenv());
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    return ServerRuntime.run(spec, "meshguard stopped", runtime -> start(runtime, config, crypto));
  }

  private void start(ServerRuntime runtime, UpConfig config, Crypto crypto) throws IOException, ConfigException {
    PrintWriter out = spec.commandLine().getOut();
    ServerRuntime.Common common = runtime.startCommon("up", config.admin(), config.audit(), crypto);
    Clock clock = common.clock();
    common.audit().append(new AuditEvent(clock.now(), EventIds.next(clock), "meshguard", "start", "started", null,
        null, null, "meshguard " + Version.current() + " up; admin " + common.admin().endpoint(), 0),
        config.audit().durabilityOf("meshguard"));

    AuthzServer authz = AuthzServers.startForUp(config.authz(), crypto, clock, common.metrics(), common.audit(),
        config.audit(), runtime::started);
    if (authz != null) {
      common.admin().register(authz);
    }
    RateLimitServer ratelimit = RateLimits.startForUp(config.ratelimit(), crypto, clock, common.metrics(),
        common.audit(), config.audit(), runtime::started);
    if (ratelimit != null) {
      common.admin().register(ratelimit);
      RateLimits.serveQuotaApi(ratelimit, config.ratelimit(), common.admin(), common.audit(), clock);
    }
    CaServer ca = CaServers.start(config.ca(), config.workloadApi(), crypto, clock, common.metrics().registry(),
        common.audit(), config.audit(), runtime::started);
    common.admin().register(ca);

    out.printf("meshguard %s up (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", common.admin().endpoint());
    AuthzServers.printBanner(out, config.authz(), authz);
    RateLimits.printBanner(out, config.ratelimit(), ratelimit);
    CaServers.printBanner(out, config.ca(), ca, crypto);
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", common.auditDirectory(),
        common.auditDirectory());
    common.admin().markStarted();
    out.println("Ready. Ctrl-C stops.");
    out.flush();
  }
}

package dev.meshguard.cli;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.PemText;
import dev.meshguard.ca.RootStore;
import dev.meshguard.ca.SpiffeBundle;
import dev.meshguard.ca.server.CaServer;
import dev.meshguard.ca.workload.RegistrationEntry;
import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.Durations;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code meshguard ca}: the SPIFFE certificate authority as a server (the Istio CA API, the
 * SPIFFE bundle endpoint and, when a socket is given, the SPIFFE Workload API, with its admin
 * server and audit log), and {@code meshguard ca init|issue|bundle}, its offline tools. The CA
 * directory uses Istio's plugged-in CA layout (ca-cert.pem, ca-key.pem, cert-chain.pem,
 * root-cert.pem), plus {@code roots/} for a CA meshguard created and rotates. The server runs
 * until SIGINT/SIGTERM, then closes everything in reverse start order.
 */
@Command(name = "ca", mixinStandardHelpOptions = true,
    description = {"The SPIFFE certificate authority. Without a subcommand: serve the Istio CA API (gRPC over TLS,",
        "what istio-agent's CA_ADDR points at), the SPIFFE bundle endpoint and, with --workload-socket, the SPIFFE",
        "Workload API, creating a root CA in DIR when it holds none (its roots then rotate; a plugged-in CA's files",
        "are re-read when they change); Ctrl-C stops. The subcommands create a CA, issue an X.509-SVID offline,",
        "print the bundle."},
    subcommands = {CaCommand.Init.class, CaCommand.Issue.class, CaCommand.Bundle.class})
final class CaCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @picocli.CommandLine.Mixin
  private ConfigOptions options;

  @Option(names = "--trust-domain", paramLabel = "TD", description = "The trust domain leaves are issued in (ca.trust_domain).")
  private String trustDomain;

  @Option(names = "--dir", paramLabel = "DIR",
      description = "The CA directory (Istio layout); a root CA is created there when it holds none (ca.dir).")
  private Path dir;

  @Option(names = "--port", paramLabel = "PORT",
      description = "Istio CA API port; default 15012, istio-agent's default CA port (ca.port).")
  private Integer port;

  @Option(names = "--bundle-port", paramLabel = "PORT",
      description = "SPIFFE bundle endpoint (HTTPS) port; default 8443 (ca.bundle_port).")
  private Integer bundlePort;

  @Option(names = "--workload-socket", paramLabel = "PATH",
      description = "Serve the SPIFFE Workload API on this Unix socket (workload_api.socket); off when unset.")
  private Path workloadSocket;

  @Option(names = "--workload-entry", paramLabel = "SEL=ID", converter = EntryConverter.class,
      description = {"A registration entry of the Workload API, e.g. uid:1001=spiffe://TD/ns/default/sa/web or",
          "uid:999,gid:999=spiffe://TD/db (selectors uid, gid, pid; all must match); repeatable, in priority",
          "order; replaces workload_api.entries of the config file."})
  private List<RegistrationEntry> workloadEntries;

  @Override
  public Integer call() throws IOException {
    Map<String, String> flags = new LinkedHashMap<>();
    if (trustDomain != null) {
      flags.put("ca.trust_domain", trustDomain);
    }
    if (dir != null) {
      flags.put("ca.dir", dir.toString());
    }
    if (port != null) {
      flags.put("ca.port", port.toString());
    }
    if (bundlePort != null) {
      flags.put("ca.bundle_port", bundlePort.toString());
    }
    if (workloadSocket != null) {
      flags.put("workload_api.socket", workloadSocket.toString());
    }
    CaServerConfig config;
    Crypto crypto;
    try {
      config = options.load(CaServerConfig.DEFAULTS, System.getenv(), flags).withWorkloadEntries(workloadEntries);
      CaServer.checkRequired(config.ca());
      crypto = CliCrypto.install(config.fips());
    } catch (ConfigException e) {
      return CliErrors.configError(spec, e);
    }
    return ServerRuntime.run(spec, "meshguard ca stopped", runtime -> start(runtime, config, crypto));
  }

  private void start(ServerRuntime runtime, CaServerConfig config, Crypto crypto) throws IOException, ConfigException {
    PrintWriter out = spec.commandLine().getOut();
    ServerRuntime.Common common = runtime.startCommon("ca", config.admin(), config.audit(), crypto);
    Clock clock = common.clock();
    CaServer server = CaServers.start(config.ca(), config.workloadApi(), crypto, clock, common.metrics().registry(),
        common.audit(), config.audit(), runtime::started);
    common.admin().register(server);
    common.audit().append(new AuditEvent(clock.now(), EventIds.next(clock), CaServer.COMPONENT, "start", "started",
        null, null, null, "meshguard " + Version.current() + " ca; grpc " + server.endpoint() + ", bundle "
            + server.bundleUrl() + server.workloadApiAddress().map(a -> ", workload api " + a).orElse("") + ", "
            + crypto, 0), config.audit().durabilityOf("meshguard"));

    out.printf("meshguard %s ca (fips mode: %s)%n", Version.current(), crypto.isFips() ? "on" : "off");
    out.printf("  %-10s http://%s  /healthz /readyz /metrics /status%n", "admin", common.admin().endpoint());
    CaServers.printBanner(out, config.ca(), server, crypto);
    out.printf("  %-10s %s  (meshguard audit verify %s)%n", "audit", common.auditDirectory(), common.auditDirectory());
    common.admin().markStarted();
    out.println("Ready. Ctrl-C stops.");
    out.flush();
  }

  /** The largest CSR file read; the CSR policy itself refuses anything over 64 KiB. */
  static final long MAX_CSR_FILE_BYTES = 1 << 20;

  /** {@code ec-p256} (as in the issue and SPIRE) or the config names {@code ecdsa-p256}, {@code rsa-2048}. */
  static final class KeyTypeConverter implements ITypeConverter<KeyAlgorithm> {
    @Override
    public KeyAlgorithm convert(String value) {
      String name = value.toLowerCase(Locale.ROOT);
      if (name.startsWith("ec-")) {
        name = "ecdsa-" + name.substring(3);
      }
      try {
        return KeyAlgorithm.parse("--key-type", name);
      } catch (ConfigException e) {
        throw new TypeConversionException("\"" + value + "\": use ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096");
      }
    }
  }

  /** {@code uid:1001[,gid:50][,pid:7]=spiffe://td/path}, as {@link RegistrationEntry#parse} reads it. */
  static final class EntryConverter implements ITypeConverter<RegistrationEntry> {
    @Override
    public RegistrationEntry convert(String value) {
      try {
        return RegistrationEntry.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("\"" + value + "\" is not a duration such as 24h or 30m: " + e.getMessage());
      }
    }
  }

  /** What every subcommand shares: the directory and the crypto mode. */
  static final class CaDir {
    @Option(names = "--dir", paramLabel = "DIR", required = true,
        description = "The CA directory (Istio layout: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem).")
    Path dir;

    @Option(names = "--fips", description = "Run in FIPS mode (Bouncy Castle FIPS, approved-only).")
    boolean fips;
  }

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = {"Create a self-signed root CA in DIR. Refuses to overwrite an existing CA.",
          "Key files are written with mode 0600. Served by meshguard ca, its roots rotate (DIR/roots/)."})
  static final class Init implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @picocli.CommandLine.Mixin
    private CaDir ca;

    @Option(names = "--trust-domain", paramLabel = "TD", required = true,
        description = "The trust domain, e.g. cluster.local; the root carries spiffe://TD as its URI SAN.")
    private String trustDomain;

    @Option(names = "--key-type", paramLabel = "TYPE", converter = KeyTypeConverter.class, defaultValue = "ec-p256",
        description = "ec-p256 (default), ec-p384, rsa-2048, rsa-3072 or rsa-4096.")
    private KeyAlgorithm keyType;

    @Option(names = "--validity", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "87600h",
        description = "Lifetime of the root (default 87600h, 10 years, as istiod's self-signed root).")
    private Duration validity;

    @Override
    public Integer call() {
      try {
        Crypto crypto = CliCrypto.install(ca.fips);
        // A CA made here is one meshguard rotates: its root goes to DIR/roots/1 too, with a JWT key.
        CertificateAuthority authority = RootStore.init(crypto, Clock.SYSTEM, ca.dir, trustDomain, keyType,
            KeyAlgorithm.DEFAULT, CaOptions.defaults().withCaValidity(validity));
        PrintWriter out = spec.commandLine().getOut();
        out.println("created a " + keyType + " root CA for spiffe://" + authority.trustDomain() + " in " + ca.dir
            + " (valid until " + authority.signingCertificate().getNotAfter().toInstant() + ")");
        out.flush();
        return 0;
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      }
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = {"Issue an X.509-SVID for a CSR under the CA's CSR policy; the CSR's SPIFFE ID is the identity.",
          "Prints the PEM chain (leaf first, root last), or the reason for refusing and exits 1."})
  static final class Issue implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @picocli.CommandLine.Mixin
    private CaDir ca;

    @Option(names = "--csr", paramLabel = "FILE", required = true, description = "The PKCS#10 request, PEM or DER.")
    private Path csr;

    @Option(names = "--ttl", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "Lifetime of the leaf (default 24h; at most 2160h, 90 days).")
    private Duration ttl;

    @Option(names = "--trust-domain", paramLabel = "TD",
        description = "The trust domain, for a plugged-in CA whose certificate carries no SPIFFE ID.")
    private String trustDomain;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      try {
        Crypto crypto = CliCrypto.install(ca.fips);
        CertificateAuthority authority = CertificateAuthority.load(crypto, Clock.SYSTEM, ca.dir, trustDomain,
            CaOptions.defaults());
        byte[] request = readCsr(csr);
        IssueResult result = authority.issueForCsrIdentity(request, ttl);
        return switch (result) {
          case IssueResult.Issued issued -> {
            PrintWriter out = spec.commandLine().getOut();
            out.print(PemText.certificates(issued.chain()));
            out.flush();
            yield 0;
          }
          case IssueResult.Refused refused -> {
            err.println("meshguard: refused (" + refused.refusal().category() + "): " + refused.refusal().reason());
            err.flush();
            yield 1;
          }
        };
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      } catch (IOException e) {
        err.println("meshguard: " + csr + ": " + (e instanceof NoSuchFileException ? "no such file" : e.getMessage()));
        err.flush();
        return 1;
      }
    }

    private static byte[] readCsr(Path file) throws IOException {
      if (Files.size(file) > MAX_CSR_FILE_BYTES) {
        throw new IOException("larger than " + MAX_CSR_FILE_BYTES + " bytes; not a CSR");
      }
      return Files.readAllBytes(file);
    }
  }

  @Command(name = "bundle", mixinStandardHelpOptions = true,
      description = "Print the SPIFFE trust bundle (a JWK Set of x509-svid keys) of the CA's roots.")
  static final class Bundle implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @picocli.CommandLine.Mixin
    private CaDir ca;

    @Option(names = "--trust-domain", paramLabel = "TD",
        description = "The trust domain, for a plugged-in CA whose certificate carries no SPIFFE ID.")
    private String trustDomain;

    @Option(names = "--sequence", paramLabel = "N", defaultValue = "1",
        description = "spiffe_sequence (default 1); increase it whenever the bundle's content changes.")
    private long sequence;

    @Option(names = "--refresh-hint", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "5m",
        description = "spiffe_refresh_hint (default 5m).")
    private Duration refreshHint;

    @Override
    public Integer call() {
      try {
        Crypto crypto = CliCrypto.install(ca.fips);
        CertificateAuthority authority = CertificateAuthority.load(crypto, Clock.SYSTEM, ca.dir, trustDomain,
            CaOptions.defaults());
        PrintWriter out = spec.commandLine().getOut();
        out.print(SpiffeBundle.toJson(authority.roots(), sequence, refreshHint));
        out.flush();
        return 0;
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      }
    }
  }
}

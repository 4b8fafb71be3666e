package dev.meshguard.ca.server;

import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.SpiffeBundle;
import dev.meshguard.ca.server.CaServerOptions.AuthenticationOptions;
import dev.meshguard.ca.server.CaServerOptions.ClusterOptions;
import dev.meshguard.core.admin.Component;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.JdkSslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The CA server: a {@link CertificateAuthority} in a directory of Istio's layout (created there
 * at first start when the directory holds none), the Istio CA API
 * ({@code /istio.v1.auth.IstioCertificateService/CreateCertificate}, gRPC over TLS) and the SPIFFE
 * bundle endpoint ({@code https_web}), and the {@code ca} component of {@code /status}.
 *
 * <p>Both servers present one certificate: by default one this CA issues to itself (the servers'
 * SPIFFE ID and {@link CaServerOptions#serverDnsNames()}), renewed at half its life; or the files
 * of {@link CaServerOptions#tlsCertFile()}. The gRPC server asks for, but does not require, a
 * client certificate chaining to this CA's roots: an agent renews with the SVID it holds, or
 * presents a service-account token.
 *
 * <p>The CA's files are read once at start; a changed plugged-in CA needs a restart.
 * {@code spiffe_sequence} is the start time in Unix seconds: it grows from one run to the next,
 * and the bundle does not change within a run.
 */
public final class CaServer implements AutoCloseable, Component {
  /** The component name on {@code /status}. */
  public static final String COMPONENT = "ca";

  private static final Logger LOG = Logger.getLogger(CaServer.class.getName());
  private static final Pattern ACCOUNT = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  private final CertificateAuthority ca;
  private final GrpcServer grpc;
  private final BundleEndpoint bundle;
  private final TlsContext tls;
  private final String bundleJson;
  private final Deque<AutoCloseable> resources;

  private CaServer(CertificateAuthority ca, GrpcServer grpc, BundleEndpoint bundle, TlsContext tls, String bundleJson,
      Deque<AutoCloseable> resources) {
    this.ca = ca;
    this.grpc = grpc;
    this.bundle = bundle;
    this.tls = tls;
    this.bundleJson = bundleJson;
    this.resources = resources;
  }

  /**
   * Creates or loads the CA, then binds both servers.
   *
   * @param scheduler runs TLS file polls and serving-certificate renewals; not owned
   * @param audit where issuances and refusals are recorded; null for nowhere
   * @param durability how long a call waits for its audit record ({@code ca} is durable by default)
   * @throws ConfigException for a missing or invalid setting, a CA directory that does not load, or
   *     a JWKS or CA file that cannot be read, each naming the setting or file
   * @throws IOException when a port cannot be bound
   */
  public static CaServer start(CaServerOptions options, Crypto crypto, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, AuditLog audit, Durability durability) throws IOException, ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(durability, "durability");
    checkRequired(options);
    String trustDomain = options.trustDomain();
    SpiffeId serverId = serverId(options, trustDomain);
    CaOptions caOptions = CaOptions.defaults()
        .withTtls(options.defaultTtl(), options.maxTtl())
        .withBackdate(options.backdate())
        .withCaValidity(options.caValidity())
        .withAuthorizedDnsNames(dnsNames(options, serverId));
    Authenticator authenticator = authenticator(options.authentication(), trustDomain, crypto, clock);
    CertificateAuthority ca = holdsCa(options.dir())
        ? CertificateAuthority.load(crypto, clock, options.dir(), trustDomain, caOptions)
        : CertificateAuthority.init(crypto, clock, options.dir(), trustDomain, options.keyType(), caOptions);

    Deque<AutoCloseable> resources = new ArrayDeque<>();
    try {
      Path certFile = options.tlsCertFile();
      Path keyFile = options.tlsKeyFile();
      if (certFile == null) {
        Path servingDir = Files.createTempDirectory("meshguard-ca-serving-");
        resources.push(() -> deleteDirectory(servingDir));
        ServingCertificate serving = ServingCertificate.start(ca, crypto, clock, serverId, options.serverDnsNames(),
            options.servingTtl(), servingDir, scheduler);
        resources.push(serving);
        certFile = serving.certFile();
        keyFile = serving.keyFile();
      }
      TlsContext tls = TlsContext.forServer(TlsOptions.builder()
          .certFile(certFile)
          .keyFile(keyFile)
          .trustBundleFile(options.dir().resolve(CaDirectory.ROOT_CERT))
          .clientAuth(TlsOptions.ClientAuth.OPTIONAL)
          .allowedPeers(SpiffeIdAllowList.ANY_AUTHENTICATED)
          .build(), crypto, scheduler);
      resources.push(tls);

      IstioCertificateService service = new IstioCertificateService(ca, authenticator, clock,
          new CaMetrics(registry, ca), audit, durability);
      GrpcServer grpc = GrpcServer.builder()
          .bindAddress(options.host())
          .port(options.port())
          .addService(service)
          .intercept(CallInfo.interceptor())
          .tls(tls)
          .start();
      resources.push(grpc);

      String json = SpiffeBundle.toJson(ca.roots(), clock.now().getEpochSecond(), options.bundleRefreshHint());
      BundleEndpoint bundle = BundleEndpoint.start(options.host(), options.bundlePort(), sslContext(tls), () -> json);
      resources.push(bundle);
      grpc.markServing();
      CaServer server = new CaServer(ca, grpc, bundle, tls, json, resources);
      LOG.info(() -> "CA server for trust domain " + trustDomain + ": Istio CA API on " + server.endpoint()
          + " (gRPC, TLS by " + crypto.tlsProvider().getName() + ", " + crypto.mode() + " mode), SPIFFE bundle at "
          + server.bundleUrl() + "; token clusters " + authenticator.clusterIds() + ", signing certificate "
          + ca.signingCertificate().getSerialNumber().toString(16) + " valid until "
          + ca.signingCertificate().getNotAfter().toInstant());
      return server;
    } catch (IOException | ConfigException | RuntimeException e) {
      closeAll(resources);
      throw e;
    }
  }

  /**
   * The checks {@link #start} makes first, for a command to make before it starts anything else:
   * a valid trust domain and a directory are given.
   *
   * @throws ConfigException naming {@code ca.trust_domain} or {@code ca.dir}
   */
  public static void checkRequired(CaServerOptions options) throws ConfigException {
    String trustDomain = options.trustDomain();
    if (trustDomain == null || trustDomain.isBlank()) {
      throw ConfigException.forSetting("ca.trust_domain", "required: the trust domain to issue in"
          + " (--trust-domain TD or ca.trust_domain)");
    }
    String problem = SpiffeId.validateTrustDomain(trustDomain);
    if (problem != null) {
      throw ConfigException.forSetting("ca.trust_domain", "\"" + trustDomain + "\": " + problem);
    }
    if (options.dir() == null) {
      throw ConfigException.forSetting("ca.dir", "required: the CA directory (--dir DIR or ca.dir); a new root is"
          + " created there when it holds no CA");
    }
  }

  private static SpiffeId serverId(CaServerOptions options, String trustDomain) throws ConfigException {
    String value = options.serverSpiffeId() != null ? options.serverSpiffeId()
        : SpiffeId.SCHEME_PREFIX + trustDomain + CaServerOptions.DEFAULT_SERVER_ID_PATH;
    try {
      SpiffeId id = SpiffeId.parse(value);
      if (!id.trustDomain().equals(trustDomain) || id.isTrustDomainId()) {
        throw ConfigException.forSetting("ca.server_spiffe_id", "\"" + value + "\" must be a workload ID (with a path)"
            + " in trust domain " + trustDomain);
      }
      return id;
    } catch (InvalidSpiffeIdException e) {
      throw ConfigException.forSetting("ca.server_spiffe_id", e.getMessage());
    }
  }

  private static Map<SpiffeId, Set<String>> dnsNames(CaServerOptions options, SpiffeId serverId) throws ConfigException {
    Map<SpiffeId, Set<String>> names = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> entry : options.dnsNames().entrySet()) {
      try {
        names.put(SpiffeId.parse(entry.getKey()), new LinkedHashSet<>(entry.getValue()));
      } catch (InvalidSpiffeIdException e) {
        throw ConfigException.forSetting("ca.dns_names." + entry.getKey(), e.getMessage());
      }
    }
    names.computeIfAbsent(serverId, id -> new LinkedHashSet<>()).addAll(options.serverDnsNames());
    return names;
  }

  private static Authenticator authenticator(AuthenticationOptions options, String trustDomain, Crypto crypto,
      Clock clock) throws ConfigException {
    Map<String, TokenValidator> validators = new LinkedHashMap<>();
    for (Map.Entry<String, ClusterOptions> entry : options.clusters().entrySet()) {
      String setting = "ca.authentication.clusters." + entry.getKey();
      ClusterOptions cluster = entry.getValue();
      if (cluster.tokenReview() != null) {
        validators.put(entry.getKey(), TokenReviewValidator.create(setting + ".token_review", cluster.tokenReview(),
            options.audiences(), crypto));
      } else if (cluster.jwks() != null) {
        validators.put(entry.getKey(), new JwksTokenValidator(JwksTokenValidator.load(setting + ".jwks.file",
            cluster.jwks().file()), cluster.jwks().issuer(), options.audiences(), clock));
      } else {
        throw ConfigException.forSetting(setting, "set token_review (check tokens with the cluster's Kubernetes API)"
            + " or jwks (check them offline against the cluster's issuer keys)");
      }
    }
    if (!validators.isEmpty() && !validators.containsKey(options.primaryCluster())) {
      throw ConfigException.forSetting("ca.authentication.primary_cluster", "\"" + options.primaryCluster()
          + "\" is not one of the clusters (" + String.join(", ", validators.keySet()) + "); calls without ClusterID"
          + " metadata are checked by the primary cluster");
    }
    Set<String> accounts = new HashSet<>();
    for (String account : options.trustedNodeAccounts()) {
      if (!ACCOUNT.matcher(account).matches()) {
        throw ConfigException.forSetting("ca.authentication.trusted_node_accounts", "\"" + account
            + "\" is not namespace/serviceaccount (e.g. istio-system/ztunnel)");
      }
      accounts.add(account);
    }
    return new Authenticator(trustDomain, options.primaryCluster(), validators, accounts);
  }

  private static boolean holdsCa(Path dir) {
    for (String name : List.of(CaDirectory.CA_CERT, CaDirectory.CA_KEY, CaDirectory.CERT_CHAIN, CaDirectory.ROOT_CERT)) {
      if (Files.exists(dir.resolve(name))) {
        return true;
      }
    }
    return false;
  }

  private static SSLContext sslContext(TlsContext tls) {
    if (tls.sslContext() instanceof JdkSslContext jdk) {
      return jdk.context();
    }
    throw new IllegalStateException("the TLS context is not a JDK one: " + tls.sslContext().getClass().getName());
  }

  /** The CA that issues. */
  public CertificateAuthority ca() {
    return ca;
  }

  /** The Istio CA API's port (the real one when 0 was asked for). */
  public int port() {
    return grpc.port();
  }

  /** {@code host:port} of the Istio CA API. */
  public String endpoint() {
    InetSocketAddress address = grpc.address();
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  /** The bundle endpoint's port (the real one when 0 was asked for). */
  public int bundlePort() {
    return bundle.address().getPort();
  }

  /** The bundle endpoint's URL. */
  public String bundleUrl() {
    InetSocketAddress address = bundle.address();
    return "https://" + address.getAddress().getHostAddress() + ":" + address.getPort() + "/";
  }

  /** The bundle the endpoint serves. */
  public String bundleJson() {
    return bundleJson;
  }

  /** The certificate both servers present now. */
  public X509Certificate servingCertificate() {
    return tls.certificate();
  }

  /** The JSSE provider both servers' TLS runs on (BCJSSE in FIPS mode). */
  String tlsProvider() {
    return sslContext(tls).getProvider().getName();
  }

  /** Ready; the revision is the signing certificate's serial. */
  @Override
  public ComponentStatus status() {
    return ComponentStatus.ready(COMPONENT, ca.signingCertificate().getSerialNumber().toString(16),
        Map.of("grpc", endpoint(), "bundle", bundleUrl()));
  }

  /** Drains the gRPC server, stops the bundle endpoint and renewals, deletes the serving key. */
  @Override
  public void close() {
    closeAll(resources);
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    synchronized (resources) {
      while (!resources.isEmpty()) {
        try {
          resources.pop().close();
        } catch (Exception e) {
          LOG.warning("error while stopping the CA server: " + e);
        }
      }
    }
  }

  private static void deleteDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.deleteIfExists(file);
      }
    }
    Files.deleteIfExists(dir);
  }
}

package dev.meshguard.ca.server;

import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.RootStore;
import dev.meshguard.ca.TrustBundle;
import dev.meshguard.ca.server.CaServerOptions.AuthenticationOptions;
import dev.meshguard.ca.server.CaServerOptions.ClusterOptions;
import dev.meshguard.ca.workload.WorkloadApiOptions;
import dev.meshguard.ca.workload.WorkloadApiServer;
import dev.meshguard.core.admin.Component;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The CA server: the authorities of a trust domain ({@link RootRotation}) in a directory, the
 * Istio CA API ({@code /istio.v1.auth.IstioCertificateService/CreateCertificate}, gRPC over TLS),
 * the SPIFFE bundle endpoint ({@code https_web}), optionally the SPIFFE Workload API on a Unix
 * socket, and the {@code ca} component of {@code /status}.
 *
 * <p>Two kinds of directory:
 * <ul>
 *   <li><b>created here</b> (empty at first start, or made by {@code meshguard ca init}): a
 *       {@link RootStore} with a {@code roots/} subdirectory. Its roots rotate
 *       ({@link CaServerOptions#rotationPeriod()}, {@link CaServerOptions#rotationLeadTime()}) on
 *       this server's scheduler, each new root persisted before it is published, and the schedule
 *       is rebuilt from the certificates at the next start;
 *   <li><b>plugged in</b> (Istio's four files and no {@code roots/}): one authority, rotated by its
 *       operator through its files, which are re-read when they change
 *       ({@link CaServerOptions#reloadInterval()}); a change that does not load keeps the last good
 *       CA and shows as {@code last_error} on {@code /status}.
 * </ul>
 *
 * <p>Every issuance goes through the rotation: the authority that signs now signs. The bundle
 * endpoint serves the rotation's current bundle (x509-svid and jwt-svid keys); its
 * {@code spiffe_sequence} starts at the start time in Unix milliseconds and grows with every
 * change, so it grows from one run to the next too. Both TLS servers present one certificate: by default
 * one the CA issues to itself (the servers' SPIFFE ID and {@link CaServerOptions#serverDnsNames()}),
 * renewed at half its life and whenever another authority starts signing; or the files of
 * {@link CaServerOptions#tlsCertFile()}. The gRPC server asks for, but does not require, a client
 * certificate chaining to the roots of {@code root-cert.pem} (re-read as it changes): an agent
 * renews with the SVID it holds, or presents a service-account token.
 */
public final class CaServer implements AutoCloseable, Component {
  /** The component name on {@code /status}. */
  public static final String COMPONENT = "ca";

  private static final Logger LOG = Logger.getLogger(CaServer.class.getName());
  private static final Pattern ACCOUNT = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  /** The longest a rotation waits between ticks: a wall clock that jumped is noticed within it. */
  static final Duration MAX_TICK_DELAY = Duration.ofHours(1);
  /** When a due transition did not happen (a new root could not be made), the next try. */
  static final Duration TICK_RETRY = Duration.ofMinutes(1);

  private final RootRotation rotation;
  private final GrpcServer grpc;
  private final BundleEndpoint bundle;
  private final TlsContext tls;
  private final BundleJson bundleJson;
  private final WorkloadApiServer workloadApi;
  private final PluggedInCaReload reload;
  private final Deque<AutoCloseable> resources;

  private CaServer(RootRotation rotation, GrpcServer grpc, BundleEndpoint bundle, TlsContext tls,
      BundleJson bundleJson, WorkloadApiServer workloadApi, PluggedInCaReload reload, Deque<AutoCloseable> resources) {
    this.rotation = rotation;
    this.grpc = grpc;
    this.bundle = bundle;
    this.tls = tls;
    this.bundleJson = bundleJson;
    this.workloadApi = workloadApi;
    this.reload = reload;
    this.resources = resources;
  }

  /** {@link #start(CaServerOptions, WorkloadApiOptions, Crypto, Clock, ScheduledExecutorService, MeterRegistry, AuditLog, Durability)} without the Workload API. */
  public static CaServer start(CaServerOptions options, Crypto crypto, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, AuditLog audit, Durability durability) throws IOException, ConfigException {
    return start(options, WorkloadApiOptions.DEFAULTS, crypto, clock, scheduler, registry, audit, durability);
  }

  /**
   * Creates or loads the CA, then binds the servers: the Istio CA API, the bundle endpoint, and
   * the Workload API when {@code workload} names a socket.
   *
   * @param workload the Workload API; not served when its socket is null
   * @param scheduler runs rotation ticks, file polls, serving-certificate renewals and Workload API
   *     refreshes; not owned
   * @param audit where issuances and refusals are recorded; null for nowhere
   * @param durability how long a call waits for its audit record ({@code ca} is durable by default)
   * @throws ConfigException for a missing or invalid setting, a CA directory that does not load, or
   *     a JWKS or CA file that cannot be read, each naming the setting or file
   * @throws IOException when a port or the socket cannot be bound
   */
  public static CaServer start(CaServerOptions options, WorkloadApiOptions workload, Crypto crypto, Clock clock,
      ScheduledExecutorService scheduler, MeterRegistry registry, AuditLog audit, Durability durability)
      throws IOException, ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(workload, "workload");
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
    // Milliseconds: larger than any sequence a previous run served (which started earlier and
    // changed a few times at most, days apart), even when restarted within the same second.
    long sequence = clock.now().toEpochMilli();
    boolean pluggedIn = RootStore.holdsCa(options.dir()) && !RootStore.isManaged(options.dir());
    RootRotation rotation = pluggedIn
        ? RootRotation.fixed(crypto, clock, CertificateAuthority.load(crypto, clock, options.dir(), trustDomain,
            caOptions), KeyAlgorithm.DEFAULT, sequence)
        : RootStore.open(crypto, clock, options.dir(), trustDomain, options.keyType(), caOptions, options.rotation(),
            sequence);
    // Catch up at once after a long stop (mint, activate, drop), before anything is served.
    rotation.tick();

    Deque<AutoCloseable> resources = new ArrayDeque<>();
    try {
      CaMetrics metrics = new CaMetrics(registry, rotation);
      Path certFile = options.tlsCertFile();
      Path keyFile = options.tlsKeyFile();
      if (certFile == null) {
        Path servingDir = Files.createTempDirectory("meshguard-ca-serving-");
        resources.push(() -> deleteDirectory(servingDir));
        ServingCertificate serving = ServingCertificate.start(rotation, crypto, clock, serverId,
            options.serverDnsNames(), options.servingTtl(), servingDir, scheduler);
        resources.push(serving);
        Consumer<TrustBundle> renewOnActivation = renewOnActivation(rotation, serving);
        rotation.addListener(renewOnActivation);
        resources.push(() -> rotation.removeListener(renewOnActivation));
        certFile = serving.certFile();
        keyFile = serving.keyFile();
      }
      TlsContext tls = TlsContext.forServer(TlsOptions.builder()
          .certFile(certFile)
          .keyFile(keyFile)
          .trustBundleFile(options.dir().resolve(CaDirectory.ROOT_CERT))
          .clientAuth(TlsOptions.ClientAuth.OPTIONAL)
          // The files a rotation or a reload rewrites are noticed as fast as the CA's own.
          .reloadInterval(options.reloadInterval())
          .allowedPeers(SpiffeIdAllowList.ANY_AUTHENTICATED)
          .build(), crypto, scheduler);
      resources.push(tls);

      IstioCertificateService service = new IstioCertificateService(rotation, authenticator, clock, metrics, audit,
          durability);
      GrpcServer grpc = GrpcServer.builder()
          .bindAddress(options.host())
          .port(options.port())
          .addService(service)
          .intercept(CallInfo.interceptor())
          .tls(tls)
          .start();
      resources.push(grpc);

      BundleJson json = new BundleJson(rotation, options.bundleRefreshHint());
      BundleEndpoint bundle = BundleEndpoint.start(options.host(), options.bundlePort(), sslContext(tls), json::get);
      resources.push(bundle);

      PluggedInCaReload reload = null;
      if (pluggedIn) {
        reload = PluggedInCaReload.start(crypto, clock, options.dir(), trustDomain, caOptions, rotation, metrics,
            scheduler, options.reloadInterval().toMillis());
        resources.push(reload);
      } else {
        resources.push(RotationTicker.start(rotation, clock, scheduler));
      }

      WorkloadApiServer workloadApi = null;
      if (workload.enabled()) {
        workloadApi = WorkloadApiServer.start(crypto, clock, rotation, workload, scheduler,
            new WorkloadIssuanceRecord(audit, durability, metrics, clock,
                "unix://" + workload.socket().toAbsolutePath()));
        // Pushed last, so closed first: its streams end before the CA goes.
        resources.push(workloadApi);
      }
      grpc.markServing();
      CaServer server = new CaServer(rotation, grpc, bundle, tls, json, workloadApi, reload, resources);
      LOG.info(() -> "CA server for trust domain " + trustDomain + ": Istio CA API on " + server.endpoint()
          + " (gRPC, TLS by " + crypto.tlsProvider().getName() + ", " + crypto.mode() + " mode), SPIFFE bundle at "
          + server.bundleUrl() + (server.workloadApi == null ? "" : ", Workload API on "
          + server.workloadApi.endpointAddress()) + "; token clusters " + authenticator.clusterIds() + "; "
          + server.describeRotation() + ", signing certificate "
          + rotation.signer().signingCertificate().getSerialNumber().toString(16) + " valid until "
          + rotation.signer().signingCertificate().getNotAfter().toInstant());
      return server;
    } catch (IOException | ConfigException | RuntimeException e) {
      closeAll(resources);
      throw e;
    }
  }

  /** Renews the servers' certificate whenever another authority starts signing, so their chain follows. */
  private static Consumer<TrustBundle> renewOnActivation(RootRotation rotation, ServingCertificate serving) {
    AtomicReference<CertificateAuthority> signing = new AtomicReference<>(rotation.current().active().ca());
    return bundle -> {
      CertificateAuthority active = bundle.active().ca();
      if (signing.getAndSet(active) != active) {
        serving.renewNow();
      }
    };
  }

  /**
   * The served bundle JSON, made once per state of the rotation (states are immutable, so the
   * identity of the current one says whether the cached text is still right).
   */
  static final class BundleJson {
    private record Cached(TrustBundle bundle, String json) {}

    private final RootRotation rotation;
    private final Duration refreshHint;
    private final AtomicReference<Cached> cached = new AtomicReference<>();

    BundleJson(RootRotation rotation, Duration refreshHint) {
      this.rotation = rotation;
      this.refreshHint = refreshHint;
    }

    String get() {
      TrustBundle current = rotation.current();
      Cached last = cached.get();
      if (last != null && last.bundle() == current) {
        return last.json();
      }
      String json = current.toJson(refreshHint);
      // A race makes two threads render the same state; either result is right.
      cached.set(new Cached(current, json));
      return json;
    }
  }

  /**
   * Ticks a rotating {@link RootRotation} when its next transition is due (at most an hour
   * apart, so a wall clock that jumped is noticed), on the server's scheduler.
   */
  static final class RotationTicker implements AutoCloseable {
    private final RootRotation rotation;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private volatile ScheduledFuture<?> next;
    private volatile boolean closed;

    private RotationTicker(RootRotation rotation, Clock clock, ScheduledExecutorService scheduler) {
      this.rotation = rotation;
      this.clock = clock;
      this.scheduler = scheduler;
    }

    static RotationTicker start(RootRotation rotation, Clock clock, ScheduledExecutorService scheduler) {
      RotationTicker ticker = new RotationTicker(rotation, clock, scheduler);
      ticker.scheduleNext();
      return ticker;
    }

    /** How long to wait for the next tick: until the next transition, a retry when it is overdue, at most an hour. */
    static Duration delay(Instant now, Instant nextTransition) {
      if (nextTransition == null) {
        return MAX_TICK_DELAY;
      }
      Duration until = Duration.between(now, nextTransition);
      if (until.isNegative() || until.isZero()) {
        // Due and yet not done by the tick just run: making the next root failed; retry soon.
        return TICK_RETRY;
      }
      return until.compareTo(MAX_TICK_DELAY) > 0 ? MAX_TICK_DELAY : until;
    }

    private void scheduleNext() {
      if (closed) {
        return;
      }
      Duration delay = delay(clock.now(), rotation.nextTransition());
      next = scheduler.schedule(this::tick, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void tick() {
      try {
        rotation.tick();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "root rotation tick failed; trying again later", e);
      } finally {
        scheduleNext();
      }
    }

    @Override
    public void close() {
      closed = true;
      ScheduledFuture<?> scheduled = next;
      if (scheduled != null) {
        scheduled.cancel(false);
      }
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

  private static SSLContext sslContext(TlsContext tls) {
    if (tls.sslContext() instanceof JdkSslContext jdk) {
      return jdk.context();
    }
    throw new IllegalStateException("the TLS context is not a JDK one: " + tls.sslContext().getClass().getName());
  }

  /** The authority that signs now. */
  public CertificateAuthority ca() {
    return rotation.signer();
  }

  /** The trust domain's authorities: what issues, and what the bundle holds. */
  public RootRotation rotation() {
    return rotation;
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

  /** The bundle the endpoint serves now. */
  public String bundleJson() {
    return bundleJson.get();
  }

  /** The Workload API's {@code unix:///path}, when it is served. */
  public Optional<String> workloadApiAddress() {
    return Optional.ofNullable(workloadApi).map(WorkloadApiServer::endpointAddress);
  }

  /** The Workload API server, when it is served. */
  public Optional<WorkloadApiServer> workloadApi() {
    return Optional.ofNullable(workloadApi);
  }

  /** Whether the CA's files are plugged in (re-read on change) rather than created and rotated here. */
  public boolean isPluggedIn() {
    return reload != null;
  }

  /** One line on where the roots come from and what happens next, for banners and the start-up log. */
  public String describeRotation() {
    if (reload != null) {
      return "plugged-in CA, its files re-read when they change";
    }
    Instant next = rotation.nextTransition();
    return "roots rotate every " + days(rotation.options().rotationPeriod()) + " (new root published "
        + days(rotation.options().leadTime()) + " ahead)" + (next == null ? "" : ", next step at " + next);
  }

  /** {@code 365d}, {@code 36h} or {@code 90m}: the largest whole unit. */
  static String days(Duration duration) {
    if (duration.equals(Duration.ofDays(duration.toDays()))) {
      return duration.toDays() + "d";
    }
    return duration.equals(Duration.ofHours(duration.toHours())) ? duration.toHours() + "h"
        : duration.toMinutes() + "m";
  }

  /** Why the plugged-in CA's last file change was refused, or null. */
  String reloadError() {
    return reload == null ? null : reload.lastError();
  }

  /** The certificate both servers present now. */
  public X509Certificate servingCertificate() {
    return tls.certificate();
  }

  /** The JSSE provider both servers' TLS runs on (BCJSSE in FIPS mode). */
  String tlsProvider() {
    return sslContext(tls).getProvider().getName();
  }

  /**
   * Ready; the revision is the serial of the certificate that signs now; {@code last_error} says
   * why a plugged-in CA's changed files were not taken.
   */
  @Override
  public ComponentStatus status() {
    Map<String, String> endpoints = new LinkedHashMap<>();
    endpoints.put("grpc", endpoint());
    endpoints.put("bundle", bundleUrl());
    if (workloadApi != null) {
      endpoints.put("workload_api", workloadApi.endpointAddress());
    }
    return ComponentStatus.ready(COMPONENT, rotation.signer().signingCertificate().getSerialNumber().toString(16),
        endpoints).withLastError(reloadError());
  }

  /**
   * Closes the Workload API (its streams end), then stops the rotation ticks or file polls,
   * drains the gRPC server, stops the bundle endpoint and renewals, and deletes the serving key.
   */
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

package dev.meshguard.authz;

import dev.meshguard.core.admin.Component;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.core.tls.PemFiles;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The ext_authz server: {@link AuthzService} on a {@link GrpcServer} (health, reflection,
 * optional mTLS with a SPIFFE ID allow-list), the HTTP service mode ({@link HttpAuthzServer} on
 * {@link AuthzOptions#httpPort()}, same service, same TLS and allow-list), the policy reload loop,
 * and the {@code authz} component of {@code /status} (endpoints {@code grpc} and {@code http}).
 *
 * <h2>Reload</h2>
 * Every {@link AuthzOptions#reloadInterval()} the scheduler hashes the policy files and the mesh
 * config, the workload registry and the trust bundle (path and content of each file). When a
 * hash changed, that part is loaded and compiled on the scheduler's thread — never on the
 * request path — into a new immutable {@link AuthzService.Live}, which replaces the old one in
 * one {@link AtomicReference} write. A request reads the reference once, so it is decided by one
 * whole program, old or new. A load that fails keeps the last good one, logs every error, bumps
 * {@code meshguard_authz_policy_reload_failures_total} and shows the errors as
 * {@code last_error} on {@code /status} until a later load succeeds.
 *
 * <p>Accepted race: a file may change between hashing and loading; the new content is then
 * loaded under the old hash and loaded again at the next poll.
 *
 * <p>With {@link AuthzOptions#bundle()} the policies come from a signed bundle instead
 * ({@link BundleSource}): a local one is hashed like the policy files; a URL is polled every
 * {@link AuthzOptions#bundlePollInterval()} by {@link #pollBundle()}. A bundle that does not
 * verify is refused like any failing reload.
 *
 * <h2>CUSTOM providers</h2>
 * {@link #start(AuthzOptions, Crypto, Clock, ScheduledExecutorService, MeterRegistry, DecisionAudit)}
 * wires {@link CustomProviderClients}: CUSTOM policies call their ext_authz provider from the
 * thread deciding the request, which is grpc-java's application executor (the
 * {@link GrpcServer} sets none), never a Netty event loop. The same reload poll checks the
 * providers' TLS files ({@code authz.custom_provider_tls}) and rebuilds the clients of a provider
 * whose material changed; a refused change shows on {@code /status} as {@code last_error} (beside a
 * refused policy reload) for as long as the files hold it.
 *
 * <h2>Health</h2>
 * {@code grpc.health.v1} reports NOT_SERVING until a policy set is loaded (with
 * {@link AuthzOptions#startWithoutPolicies()} the server may start without one, denying every
 * request meanwhile) and again from the moment {@link #close()} starts draining.
 */
public final class AuthzServer implements AutoCloseable, Component {

  /** The component name on {@code /status} and in audit events. */
  public static final String COMPONENT = AuthzService.COMPONENT;

  private static final System.Logger LOG = System.getLogger(AuthzServer.class.getName());

  private final AuthzOptions options;
  private final Crypto crypto;
  private final Clock clock;
  private final AtomicReference<AuthzService.Live> live;
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private final LongAdder reloads = new LongAdder();
  private final LongAdder reloadFailures = new LongAdder();
  private final AuthzMetrics metrics;
  private final AuthzService service;
  private final Object pollLock = new Object();
  private String policyHash; // guarded by pollLock
  private String registryHash; // guarded by pollLock
  private String bundleHash; // guarded by pollLock
  private GrpcServer grpc;
  private HttpAuthzServer http;
  private TlsContext tls;
  private ScheduledFuture<?> poll;
  private volatile CustomProviderClients customProviders; // set once, after start; read by the poll
  private BundleSource bundles; // null when the policies are files
  private ScheduledFuture<?> bundlePoll;

  private AuthzServer(AuthzOptions options, Crypto crypto, Clock clock, MeterRegistry registry, DecisionAudit audit,
      AuthzService.CustomProviders custom, ClientTls jwksTls) {
    this.options = options;
    this.crypto = crypto;
    this.clock = clock;
    this.live = new AtomicReference<>(new AuthzService.Live(null, null, null));
    this.metrics = new AuthzMetrics(registry);
    this.service = new AuthzService(options, live::get, clock, metrics, audit, custom, options.jwt(), jwksTls);
  }

  /**
   * Loads the workload registry, the trust bundle and the policies, binds the gRPC server and
   * starts polling for changes.
   *
   * @param crypto the provider for TLS and certificate parsing
   * @param scheduler runs the reload poll (and the TLS files' poll); not owned
   * @param registry where the server's meters are registered
   * @param audit where audited decisions go
   * @throws ConfigException when a file does not load (the policies only unless
   *     {@link AuthzOptions#startWithoutPolicies()})
   * @throws IOException when the port cannot be bound
   */
  public static AuthzServer start(AuthzOptions options, Crypto crypto, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, DecisionAudit audit) throws IOException, ConfigException {
    // CUSTOM providers are called from the thread deciding the request: grpc's application
    // executor (GrpcServer sets none, so grpc's cached pool), never a Netty event loop.
    CustomProviderClients providers = new CustomProviderClients(registry, clock,
        CustomProviderClients.loadTls(Objects.requireNonNull(options, "options").customProviderTls(),
            Objects.requireNonNull(crypto, "crypto")));
    try {
      AuthzServer server = start(options, crypto, clock, scheduler, registry, audit, providers);
      server.customProviders = providers;
      return server;
    } catch (IOException | ConfigException | RuntimeException e) {
      providers.close();
      throw e;
    }
  }

  static AuthzServer start(AuthzOptions options, Crypto crypto, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, DecisionAudit audit, AuthzService.CustomProviders custom)
      throws IOException, ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(audit, "audit");
    // JWKS over https on the mode's provider, trusting the JVM's default trust store (no CA setting).
    ClientTls jwksTls = ClientTls.load(crypto, "authz.jwt", null, null, null);
    AuthzServer server = new AuthzServer(options, crypto, clock, registry, audit, custom, jwksTls);
    server.registerMeters(registry);
    synchronized (server.pollLock) {
      server.bundles = BundleSource.open(options, crypto);
      try {
        server.loadFirst();
      } catch (ConfigException | RuntimeException e) {
        server.closeBundles();
        throw e;
      }
    }
    server.registerBundleMeters(registry);
    try {
      GrpcServer.Builder builder = GrpcServer.builder()
          .bindAddress(options.host())
          .port(options.port())
          // Over the request-size limit up to twice is denied with a reason; beyond, gRPC refuses.
          .maxInboundMessageSize(Math.max(GrpcServer.DEFAULT_MAX_INBOUND_MESSAGE_SIZE,
              2 * options.limits().maxRequestBytes()))
          .addService(server.service);
      if (options.tls() != null) {
        server.tls = TlsContext.forServer(options.tls().serverOptions("authz.tls"), crypto, scheduler);
        builder.tls(server.tls);
      }
      server.grpc = builder.start();
      if (options.httpPort() != AuthzOptions.HTTP_DISABLED) {
        server.http = HttpAuthzServer.start(options, server.service, clock, server.tls, options.tls() == null
            ? SpiffeIdAllowList.ANY_AUTHENTICATED
            : options.tls().allowList("authz.tls"));
      }
    } catch (IOException | ConfigException | RuntimeException e) {
      if (server.grpc != null) {
        server.grpc.close();
      }
      if (server.tls != null) {
        server.tls.close();
      }
      server.closeBundles();
      throw e;
    }
    if (server.live.get().snapshot() != null) {
      server.grpc.markServing();
    }
    long interval = options.reloadInterval().toNanos();
    server.poll = scheduler.scheduleWithFixedDelay(server::pollQuietly, interval, interval, TimeUnit.NANOSECONDS);
    if (server.bundles != null && server.bundles.remote()) {
      long every = options.bundlePollInterval().toNanos();
      server.bundlePoll = scheduler.scheduleWithFixedDelay(server::pollBundleQuietly, every, every,
          TimeUnit.NANOSECONDS);
    }
    PolicySnapshot snapshot = server.live.get().snapshot();
    LOG.log(Level.INFO, "authz server on {0}{1}: {2}", server.endpoint(),
        server.http == null ? "" : " (HTTP service mode on " + server.httpEndpoint() + ")", snapshot == null
        ? "no policies loaded (" + server.lastError.get() + ")"
        : snapshot.policyCount() + " policies from " + server.source() + " (revision " + snapshot.revision() + ")");
    return server;
  }

  /** The first load: registry and bundle must load; the policies too unless configured otherwise. */
  private void loadFirst() throws ConfigException {
    WorkloadRegistry registry = null;
    if (options.workloadRegistry() != null) {
      registryHash = hashOrThrow(List.of(options.workloadRegistry()));
      registry = WorkloadRegistry.load(options.workloadRegistry(), registryHash);
    }
    PeerCertificates certificates = new PeerCertificates(List.of(), clock);
    if (options.trustBundle() != null) {
      bundleHash = hashOrThrow(List.of(options.trustBundle()));
      certificates = new PeerCertificates(PemFiles.readCertificates(crypto, options.trustBundle()), clock);
    }
    PolicySnapshot snapshot = null;
    try {
      policyHash = hashOrThrow(policyFiles());
      snapshot = loadPolicies(policyHash);
    } catch (ConfigException e) {
      if (!options.startWithoutPolicies()) {
        throw e;
      }
      reloadFailures.increment();
      lastError.set("no policies loaded: " + render(e));
      LOG.log(Level.WARNING, "authz " + lastError.get());
    }
    if (snapshot != null) {
      service.prefetchJwks(snapshot);
    }
    live.set(new AuthzService.Live(snapshot, registry, certificates));
  }

  /**
   * Reloads whatever changed since the last poll. The scheduler calls this; tests call it to
   * reload without waiting.
   *
   * @return true when a new policy set was loaded and now serves
   */
  public boolean reloadIfChanged() {
    synchronized (pollLock) {
      CustomProviderClients providers = customProviders;
      if (providers != null) {
        providers.reloadTls();
      }
      if (options.workloadRegistry() != null) {
        String hash = hashQuietly(List.of(options.workloadRegistry()));
        if (!hash.equals(registryHash)) {
          registryHash = hash;
          try {
            WorkloadRegistry registry = WorkloadRegistry.load(options.workloadRegistry(), hash);
            update(l -> new AuthzService.Live(l.snapshot(), registry, l.certificates()));
            LOG.log(Level.INFO, "authz workload registry reloaded: {0} entries", registry.size());
          } catch (ConfigException e) {
            refuse("workload registry " + options.workloadRegistry(), render(e));
          }
        }
      }
      if (options.trustBundle() != null) {
        String hash = hashQuietly(List.of(options.trustBundle()));
        if (!hash.equals(bundleHash)) {
          bundleHash = hash;
          try {
            PeerCertificates certificates =
                new PeerCertificates(PemFiles.readCertificates(crypto, options.trustBundle()), clock);
            update(l -> new AuthzService.Live(l.snapshot(), l.registry(), certificates));
          } catch (ConfigException e) {
            refuse("trust bundle " + options.trustBundle(), render(e));
          }
        }
      }
      String hash = hashQuietly(policyFiles());
      if (hash.equals(policyHash)) {
        return false;
      }
      policyHash = hash;
      PolicySnapshot next;
      try {
        next = loadPolicies(hash);
      } catch (ConfigException e) {
        refuse("policies", render(e));
        return false;
      } catch (RuntimeException e) {
        // A compiler bug must not kill the poll nor take down the serving program.
        refuse("policies", "unexpected " + e);
        return false;
      }
      install(next);
      return true;
    }
  }

  /** Serves {@code next} from now on (caller holds pollLock). */
  private void install(PolicySnapshot next) {
    boolean first = live.get().snapshot() == null;
    service.prefetchJwks(next); // keys start loading before the revision serves
    update(l -> new AuthzService.Live(next, l.registry(), l.certificates()));
    lastError.set(null);
    reloads.increment();
    if (first && grpc != null) {
      grpc.markServing();
    }
    LOG.log(Level.INFO, "authz policies reloaded: {0} policies (revision {1})", next.policyCount(), next.revision());
  }

  /** Compiles the policy source: the policy files, or the bundle (a remote one's last good set). */
  private PolicySnapshot loadPolicies(String hash) throws ConfigException {
    if (bundles == null) {
      return PolicySnapshot.load(options.policies(), options.meshConfig(), hash, clock.now());
    }
    return PolicySnapshot.compile(bundles.current(), options.meshConfig(), hash, clock.now());
  }

  /**
   * Asks the bundle URL whether the bundle changed ({@code If-None-Match}) and, when it did and
   * verifies, serves it. A failed fetch or a refused bundle (bad signature, tampered file) keeps
   * the last good program, counts a reload failure and sets {@code last_error}. The scheduler
   * calls this every {@link AuthzOptions#bundlePollInterval()}; tests call it to poll at once.
   *
   * @return true when a new bundle was loaded and now serves; false without a bundle URL
   */
  public boolean pollBundle() {
    synchronized (pollLock) {
      if (bundles == null || !bundles.remote()) {
        return false;
      }
      PolicySnapshot next;
      try {
        var set = bundles.poll();
        if (set == null) {
          return false;
        }
        next = PolicySnapshot.compile(set, options.meshConfig(), policyHash, clock.now());
      } catch (ConfigException e) {
        refuse("bundle " + bundles.location(), render(e));
        return false;
      } catch (RuntimeException e) {
        refuse("bundle " + bundles.location(), "unexpected " + e);
        return false;
      }
      install(next);
      return true;
    }
  }

  private void pollBundleQuietly() {
    try {
      pollBundle();
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "authz bundle poll failed", e);
    }
  }

  /** Where the policies come from, for logs. */
  private String source() {
    return bundles == null ? options.policies().toString() : "bundle " + bundles.location();
  }

  private void closeBundles() {
    if (bundles != null) {
      bundles.close();
    }
  }

  private void update(java.util.function.UnaryOperator<AuthzService.Live> change) {
    live.updateAndGet(change);
  }

  private void refuse(String what, String why) {
    reloadFailures.increment();
    PolicySnapshot serving = live.get().snapshot();
    String message = what + " reload refused, " + (serving == null ? "no policies serve"
        : "revision " + serving.revision() + " keeps serving") + ": " + why;
    lastError.set(message);
    LOG.log(Level.WARNING, "authz " + message);
  }

  private void pollQuietly() {
    try {
      reloadIfChanged();
    } catch (RuntimeException e) {
      // A failing poll must not cancel the schedule (a thrown exception would).
      LOG.log(Level.ERROR, "authz reload poll failed", e);
    }
  }

  private static String render(ConfigException e) {
    return e.errors().size() + (e.errors().size() == 1 ? " error: " : " errors: ")
        + e.errors().stream().map(ConfigError::render).collect(Collectors.joining("; "));
  }

  /** The policy inputs: the policy paths (or a local bundle) and the mesh config. */
  private List<Path> policyFiles() {
    List<Path> files = new ArrayList<>(bundles == null ? options.policies() : bundles.watchedPaths());
    if (options.meshConfig() != null) {
      files.add(options.meshConfig());
    }
    return files;
  }

  /** The gRPC port (the real one when 0 was asked for). */
  public int port() {
    return grpc.port();
  }

  public InetSocketAddress address() {
    return grpc.address();
  }

  /** {@code host:port} of the gRPC server. */
  public String endpoint() {
    InetSocketAddress address = address();
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  /** The HTTP service mode's port (the real one when 0 was asked for), or -1 when it is off. */
  public int httpPort() {
    return http == null ? AuthzOptions.HTTP_DISABLED : http.address().getPort();
  }

  /** {@code host:port} of the HTTP service mode, or null when it is off. */
  public String httpEndpoint() {
    if (http == null) {
      return null;
    }
    InetSocketAddress address = http.address();
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  /** The policies serving now, or null before any loaded. */
  public PolicySnapshot snapshot() {
    return live.get().snapshot();
  }

  /** The serving policy revision, or null. */
  public String revision() {
    PolicySnapshot s = snapshot();
    return s == null ? null : s.revision();
  }

  /** Refused reloads since start. */
  public long reloadFailures() {
    return reloadFailures.sum();
  }

  /** Why the last reload was refused, or null when the last one loaded. */
  public String lastError() {
    return lastError.get();
  }

  /**
   * Why the last policy reload was refused, and which CUSTOM providers' TLS files hold content that
   * was refused; null when there is nothing to report.
   */
  private String statusError() {
    List<String> problems = new ArrayList<>();
    String policies = lastError.get();
    if (policies != null) {
      problems.add(policies);
    }
    CustomProviderClients providers = customProviders;
    if (providers != null) {
      problems.addAll(providers.tlsProblems());
    }
    return problems.isEmpty() ? null : String.join("; ", problems);
  }

  /** The CUSTOM provider clients this server owns; null when started with other ones (tests). */
  CustomProviderClients customProviders() {
    return customProviders;
  }

  @Override
  public ComponentStatus status() {
    PolicySnapshot s = snapshot();
    Map<String, String> endpoints = http == null ? Map.of("grpc", endpoint())
        : Map.of("grpc", endpoint(), "http", httpEndpoint());
    if (s == null) {
      return ComponentStatus.notReady(COMPONENT, "no policies loaded", null, endpoints).withLastError(statusError());
    }
    return ComponentStatus.ready(COMPONENT, s.revision(), endpoints).withLastError(statusError())
        .withLoadedAt(s.loadedAt());
  }

  private void registerBundleMeters(MeterRegistry registry) {
    if (bundles == null || !bundles.remote()) {
      return;
    }
    HttpsBundlePoller p = bundles.poller();
    FunctionCounter.builder("meshguard.authz.policy.bundle.polls", p, HttpsBundlePoller::changed).tag("result", "changed")
        .description("Bundle URL polls by result").register(registry);
    FunctionCounter.builder("meshguard.authz.policy.bundle.polls", p, HttpsBundlePoller::unchanged)
        .tag("result", "unchanged").description("Bundle URL polls by result").register(registry);
    FunctionCounter.builder("meshguard.authz.policy.bundle.polls", p, HttpsBundlePoller::failed).tag("result", "failed")
        .description("Bundle URL polls by result").register(registry);
  }

  private void registerMeters(MeterRegistry registry) {
    FunctionCounter.builder("meshguard.authz.policy.reloads", reloads, LongAdder::sum)
        .description("Policy sets loaded after start").register(registry);
    FunctionCounter.builder("meshguard.authz.policy.reload.failures", reloadFailures, LongAdder::sum)
        .description("Reloads refused (policies, mesh config, workload registry, trust bundle); the last good kept serving")
        .register(registry);
  }

  /**
   * Stops polling, closes the HTTP service mode's port, then drains the gRPC server (NOT_SERVING
   * at once) for up to its default grace.
   */
  @Override
  public void close() {
    if (poll != null) {
      poll.cancel(false);
    }
    if (http != null) {
      http.close();
    }
    if (bundlePoll != null) {
      bundlePoll.cancel(false);
    }
    closeBundles();
    grpc.close();
    if (tls != null) {
      tls.close();
    }
    if (customProviders != null) {
      customProviders.close();
    }
  }

  private static String hashOrThrow(List<Path> paths) throws ConfigException {
    for (Path p : paths) {
      if (!Files.exists(p)) {
        throw new ConfigException(List.of(new ConfigError(p.toString(), 0, 0, "", "no such file or directory")));
      }
    }
    try {
      return hash(paths);
    } catch (IOException e) {
      throw new ConfigException(List.of(new ConfigError(paths.toString(), 0, 0, "", "cannot read: " + e)));
    }
  }

  private static String hashQuietly(List<Path> paths) {
    try {
      return hash(paths);
    } catch (IOException | RuntimeException e) {
      return "unreadable: " + e;
    }
  }

  /** SHA-256 over each file's path and content (directories walked in path order); 16 hex digits. */
  static String hash(List<Path> paths) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
    for (Path path : paths) {
      List<Path> files;
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          files = walk.filter(Files::isRegularFile).filter(AuthzServer::policyFile).sorted().toList();
        }
      } else {
        files = Files.exists(path) ? List.of(path) : List.of();
        digest.update((byte) (files.isEmpty() ? 1 : 2));
      }
      for (Path file : files) {
        digest.update(file.toString().getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
        digest.update(Files.readAllBytes(file));
        digest.update((byte) 0);
      }
    }
    return HexFormat.of().formatHex(digest.digest(), 0, 8);
  }

  private static boolean policyFile(Path p) {
    String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    // manifest.sig: a re-signed bundle directory is a change too.
    return name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json")
        || name.equals(dev.meshguard.policy.PolicyBundle.SIGNATURE);
  }
}

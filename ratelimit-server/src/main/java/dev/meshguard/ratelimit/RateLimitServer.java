package dev.meshguard.ratelimit;

import dev.meshguard.core.admin.Component;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.DecisionTls;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
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
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
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
 * The rate limit server: a config directory, a {@link CounterStore} ({@link MemoryStore}, or
 * {@link RedisStore} as {@link RateLimitOptions#store()} says), the {@link RateLimitEngine} and
 * {@link RateLimitService} on a {@link GrpcServer}, and the {@code ratelimit} component of
 * {@code /status}. The engine's per-descriptor and store meters ({@link RateLimitMetrics}) go to
 * the registry given to {@link #start}, which the admin server's {@code /metrics} scrapes.
 *
 * <h2>Reload</h2>
 * The directory is polled every {@link RateLimitOptions#reloadInterval()} on the injected
 * scheduler. A poll hashes every {@code *.yaml}/{@code *.yml} file (path and content, in path
 * order); when the hash differs from the last one seen, the directory is loaded into a new
 * immutable {@link RateLimitConfig}, which replaces the old one in one {@link AtomicReference}
 * write. Requests read the reference once each, so a request sees one whole config. A load that
 * fails keeps the last good config, logs every error, bumps
 * {@code meshguard_ratelimit_config_load_errors_total} and shows the errors as {@code last_error}
 * on {@code /status} until a later load succeeds. Counters are keyed by descriptor values, so they
 * survive reloads.
 *
 * <h2>Tenant quotas</h2>
 * A {@link QuotaStore} holds the quotas: {@link MemoryQuotaStore} with the memory store,
 * {@link RedisQuotaStore} (shared by every replica) with a Redis store. When
 * {@link QuotaOptions#dir()} is set, its {@code TenantQuota} files are loaded at start (errors
 * refuse the start, as the config directory's do) and imported into the store; every
 * {@link QuotaOptions#refreshInterval()} the directory is hashed and imported again when it
 * changed (a failed load keeps what the store has, shown as {@code last_error}), and the store
 * re-reads what other replicas changed. An import that cannot reach Redis is retried at the next
 * poll.
 *
 * <h2>TLS</h2>
 * With {@link RateLimitOptions#tls()} the gRPC port serves TLS through the JSSE provider of the
 * {@link Crypto} given to {@link #start(RateLimitOptions, Crypto, Clock, ScheduledExecutorService,
 * MeterRegistry, ThrottleListener, QuotaListener) start} (BCJSSE in FIPS mode), its files followed
 * without a restart. {@code ShouldRateLimit} needs a client certificate whose SPIFFE ID
 * {@code ratelimit.tls.allowed_peers} allows; the quota service admits its own callers (see
 * {@link RateLimitPortAuthorization}).
 *
 * <p>Accepted race: a file may change between hashing and loading. The new content is then
 * loaded under the old hash, and the next poll sees a different hash and loads again, so the
 * revision is wrong for at most one interval.
 */
public final class RateLimitServer implements AutoCloseable, Component {

  /** The component name on {@code /status}. */
  public static final String COMPONENT = "ratelimit";
  /** The config section of TLS on the gRPC port. */
  static final String TLS_SECTION = "ratelimit.tls";
  /** The setting listing the quota admins by SPIFFE ID. */
  static final String QUOTA_ADMINS = "ratelimit.quota.admin_spiffe_ids";
  /** How often expired counters are swept besides when the store fills up. */
  static final Duration PURGE_INTERVAL = Duration.ofMinutes(1);

  private static final System.Logger LOG = System.getLogger(RateLimitServer.class.getName());

  /** A loaded configuration and the hash of the files it came from. */
  private record Snapshot(RateLimitConfig config, String revision) {}

  private final Path configDir;
  private final AtomicReference<Snapshot> current;
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private final LongAdder reloads = new LongAdder();
  private final LongAdder loadErrors = new LongAdder();
  private final CounterStore store;
  private final QuotaStore quotaStore;
  private final QuotaOptions quotaOptions;
  private String lastQuotaHash; // guarded by pollLock; null: import still due
  private final Clock clock;
  private volatile java.time.Instant lastQuotaImport; // null: no import yet
  private volatile String lastQuotaError; // null: the last import loaded
  private ScheduledFuture<?> quotaPoll;
  private final String storeName;
  private final RateLimitEngine engine;
  private final RateLimitService service;
  private final TenantIndex tenantIndex;
  private final QuotaGrpcService quotaGrpc = new QuotaGrpcService();
  private final Object pollLock = new Object();
  private String lastSeenHash; // guarded by pollLock
  private GrpcServer grpc;
  private TlsContext tls; // null: plaintext
  private SpiffeIdAllowList quotaAdmins = SpiffeIdAllowList.ANY_AUTHENTICATED; // empty: nobody by certificate
  private ScheduledFuture<?> poll;
  private ScheduledFuture<?> purge;

  private RateLimitServer(RateLimitOptions options, Clock clock, Snapshot first, ThrottleListener listener,
      QuotaListener quotaListener, MeterRegistry registry, Crypto crypto) throws ConfigException {
    this.configDir = options.configDir();
    this.clock = clock;
    this.current = new AtomicReference<>(first);
    this.lastSeenHash = first.revision();
    StoreUri uri = options.storeUri();
    this.store = switch (uri) {
      case StoreUri.Memory m -> new MemoryStore(clock, options.maxCounters());
      default -> RedisStore.connect(uri, options.redis(), crypto);
    };
    this.storeName = uri.toString();
    this.quotaStore = store instanceof RedisStore redis ? new RedisQuotaStore(redis) : new MemoryQuotaStore();
    this.quotaOptions = options.quota();
    this.engine = new RateLimitEngine(() -> current.get().config(), store, clock, options.engineOptions(), registry,
        quotaStore::snapshot, quotaOptions);
    this.tenantIndex = new TenantIndex(store instanceof RedisStore redis ? redis : null, clock);
    this.service = new RateLimitService(engine, listener, options.responseHeaders(), quotaListener, tenantIndex);
  }

  /**
   * Loads the config directory, binds the gRPC server and starts polling for changes.
   *
   * @param scheduler runs the reload poll and the counter sweep; not owned (not shut down by
   *     {@link #close()})
   * @param registry where the server's counters are registered
   * @throws ConfigException when the directory is missing or its files do not load: the server
   *     does not start without a configuration
   * @throws IOException when the port cannot be bound
   */
  public static RateLimitServer start(RateLimitOptions options, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry) throws IOException, ConfigException {
    return start(options, clock, scheduler, registry, ThrottleListener.NONE);
  }

  /**
   * As {@link #start(RateLimitOptions, Clock, ScheduledExecutorService, MeterRegistry)}, telling
   * {@code listener} of each counter's first over-limit hit per window.
   */
  public static RateLimitServer start(RateLimitOptions options, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, ThrottleListener listener) throws IOException, ConfigException {
    return start(options, clock, scheduler, registry, listener, QuotaListener.NONE);
  }

  /**
   * As {@link #start(RateLimitOptions, Clock, ScheduledExecutorService, MeterRegistry,
   * ThrottleListener)}, also telling {@code quotaListener} when a tenant crosses 80% and 100% of
   * a quota limit.
   *
   * @throws ConfigException also when the quota directory is set and its files do not load
   */
  public static RateLimitServer start(RateLimitOptions options, Clock clock, ScheduledExecutorService scheduler,
      MeterRegistry registry, ThrottleListener listener, QuotaListener quotaListener)
      throws IOException, ConfigException {
    return start(options, Crypto.install(CryptoMode.DEFAULT), clock, scheduler, registry, listener, quotaListener);
  }

  /**
   * As {@link #start(RateLimitOptions, Clock, ScheduledExecutorService, MeterRegistry,
   * ThrottleListener, QuotaListener)}, with the TLS of the gRPC port (when {@link RateLimitOptions#tls()}
   * is set) and of the Redis store ({@code rediss://}) built from {@code crypto}: in FIPS mode
   * BCJSSE on the approved-only module.
   *
   * @throws ConfigException also when the TLS files do not load, an allow-list entry is not a
   *     SPIFFE ID, or {@code ratelimit.quota.admin_spiffe_ids} is set without TLS
   */
  public static RateLimitServer start(RateLimitOptions options, Crypto crypto, Clock clock,
      ScheduledExecutorService scheduler, MeterRegistry registry, ThrottleListener listener,
      QuotaListener quotaListener) throws IOException, ConfigException {
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(quotaListener, "quotaListener");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(registry, "registry");
    DecisionTls tlsConfig = options.tls();
    SpiffeIdAllowList allowedPeers = tlsConfig == null ? null : tlsConfig.allowList(TLS_SECTION);
    SpiffeIdAllowList quotaAdmins = SpiffeIdAllowList.parse(QUOTA_ADMINS, options.quota().adminSpiffeIds());
    if (!quotaAdmins.isEmpty() && tlsConfig == null) {
      throw ConfigException.forSetting(QUOTA_ADMINS, "needs ratelimit.tls: a SPIFFE ID is only known from the "
          + "client certificate of a TLS connection");
    }
    Snapshot first = load(options.configDir(), hashOrThrow(options.configDir()));
    Path quotaDir = options.quota().dir();
    List<TenantQuota> declared = null;
    String quotaHash = null;
    if (quotaDir != null) {
      quotaHash = hashOrThrow(quotaDir);
      declared = TenantQuotaFiles.load(quotaDir);
    }
    RateLimitServer server = new RateLimitServer(options, clock, first, listener, quotaListener, registry, crypto);
    if (declared != null) {
      server.importQuotas(declared, quotaHash);
    }
    server.registerMeters(registry);
    server.quotaAdmins = quotaAdmins;
    try {
      GrpcServer.Builder builder = GrpcServer.builder()
          .bindAddress(options.host())
          .port(options.port())
          .addService(server.service)
          .addService(server.quotaGrpc.definition());
      if (tlsConfig != null) {
        // The handshake asks for a certificate without requiring one (quota admins may come with
        // a token only); the TLS context's interceptor refuses invalid SVIDs, ours decides per service.
        server.tls = TlsContext.forServer(tlsConfig.serverOptions(TLS_SECTION).toBuilder()
            .clientAuth(TlsOptions.ClientAuth.OPTIONAL)
            .allowedPeers(SpiffeIdAllowList.ANY_AUTHENTICATED)
            .build(), crypto, scheduler);
        builder.tls(server.tls).intercept(new RateLimitPortAuthorization(allowedPeers));
      }
      server.grpc = builder.start();
    } catch (IOException | ConfigException | RuntimeException e) {
      if (server.tls != null) {
        server.tls.close();
      }
      server.quotaStore.close();
      server.store.close();
      throw e;
    }
    server.grpc.markServing();
    long interval = options.reloadInterval().toNanos();
    server.poll = scheduler.scheduleWithFixedDelay(server::pollQuietly, interval, interval, TimeUnit.NANOSECONDS);
    long quotaInterval = options.quota().refreshInterval().toNanos();
    server.quotaPoll = scheduler.scheduleWithFixedDelay(server::pollQuotasQuietly, quotaInterval, quotaInterval,
        TimeUnit.NANOSECONDS);
    if (server.store instanceof MemoryStore memory) {
      long purge = PURGE_INTERVAL.toNanos();
      server.purge = scheduler.scheduleWithFixedDelay(memory::purgeExpired, purge, purge, TimeUnit.NANOSECONDS);
    }
    LOG.log(Level.INFO, "rate limit server on {0}: {1} domains from {2} (revision {3}), store {4}", server.endpoint(),
        first.config().domains().size(), options.configDir(), first.revision(), server.storeName);
    return server;
  }

  /**
   * Reloads the directory if its files changed since the last poll. The scheduler calls this;
   * tests call it to reload without waiting.
   *
   * @return true when a new configuration was loaded and now serves
   */
  public boolean reloadIfChanged() {
    synchronized (pollLock) {
      String hash;
      try {
        hash = hash(configDir);
      } catch (IOException e) {
        hash = "unreadable: " + e;
        if (!hash.equals(lastSeenHash)) {
          lastSeenHash = hash;
          refuse("cannot read " + configDir + ": " + e);
        }
        return false;
      }
      if (hash.equals(lastSeenHash)) {
        return false;
      }
      lastSeenHash = hash;
      Snapshot next;
      try {
        next = load(configDir, hash);
      } catch (ConfigException e) {
        refuse(e.errors().size() + (e.errors().size() == 1 ? " error: " : " errors: ")
            + e.errors().stream().map(ConfigError::render).collect(Collectors.joining("; ")));
        return false;
      }
      current.set(next);
      lastError.set(null);
      reloads.increment();
      LOG.log(Level.INFO, "rate limit config reloaded from {0}: {1} domains (revision {2})", configDir,
          next.config().domains().size(), next.revision());
      return true;
    }
  }

  /** Imports declared quotas; on a store failure leaves the hash unset, so the next poll retries. */
  private void importQuotas(List<TenantQuota> declared, String hash) {
    synchronized (pollLock) {
      try {
        QuotaStore.ImportResult result = quotaStore.importYaml(declared);
        lastQuotaHash = hash;
        lastQuotaImport = clock.now();
        lastQuotaError = null;
        LOG.log(Level.INFO, "tenant quotas imported from {0}: created {1}, replaced {2}, deleted {3}, unchanged {4}",
            quotaOptions.dir(), result.created(), result.replaced(), result.deleted(), result.unchanged().size());
      } catch (RuntimeException e) {
        lastQuotaHash = null;
        refuseQuotas("tenant quotas not imported (retrying): " + e.getMessage());
      }
    }
  }

  /**
   * Re-imports the quota directory if it changed (or a previous import failed), then reads what
   * other replicas changed in the quota store and shares the tenants this replica has seen
   * ({@link TenantIndex}). The scheduler calls this; tests call it to import without waiting.
   */
  public void reloadQuotas() {
    Path dir = quotaOptions.dir();
    if (dir != null) {
      String hash;
      List<TenantQuota> declared;
      synchronized (pollLock) {
        try {
          hash = hash(dir);
        } catch (IOException e) {
          refuseQuotas("cannot read " + dir + ": " + e);
          return;
        }
        if (hash.equals(lastQuotaHash)) {
          hash = null;
        }
      }
      if (hash != null) {
        try {
          declared = TenantQuotaFiles.load(dir);
          importQuotas(declared, hash);
        } catch (ConfigException e) {
          synchronized (pollLock) {
            lastQuotaHash = hash; // the same broken files are not reported again every poll
          }
          refuseQuotas("tenant quotas: " + e.errors().size() + (e.errors().size() == 1 ? " error: " : " errors: ")
              + e.errors().stream().map(ConfigError::render).collect(Collectors.joining("; ")));
        }
      }
    }
    quotaStore.refresh();
    tenantIndex.flush();
  }

  private void pollQuotasQuietly() {
    try {
      engine.publishQuotaMeters();
      reloadQuotas();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "tenant quota poll failed: {0}", e.toString());
    }
  }

  /** The quota store: where the admin API reads and changes tenant quotas. */
  public QuotaStore quotaStore() {
    return quotaStore;
  }

  /** The gRPC quota service, refusing calls until {@link QuotaAdminApi#create} enables it. */
  QuotaGrpcService quotaGrpc() {
    return quotaGrpc;
  }

  /**
   * The SPIFFE IDs that may call the quota service by certificate alone
   * ({@code ratelimit.quota.admin_spiffe_ids}); empty: nobody.
   */
  SpiffeIdAllowList quotaAdmins() {
    return quotaAdmins;
  }

  /** Whether the gRPC port serves TLS. */
  public boolean tls() {
    return tls != null;
  }

  /** The gRPC port's TLS context; null for plaintext. */
  TlsContext tlsContext() {
    return tls;
  }

  /** The tenants requests named, with or without a quota of their own (for tenants above a ratio). */
  TenantIndex tenantIndex() {
    return tenantIndex;
  }

  /** The engine deciding requests (for usage reads: {@link RateLimitEngine#quotaUsage}). */
  public RateLimitEngine engine() {
    return engine;
  }

  private void refuseQuotas(String why) {
    lastQuotaError = why;
    refuse(why);
  }

  /**
   * The {@code quota} component on {@code /status}: how many tenants have a quota, where the
   * admin API is served, when the quota directory was last imported and why the last import was
   * refused (null when it loaded).
   *
   * @param apiUrl where the quota admin API answers, e.g. {@code http://127.0.0.1:9090/v1/quotas}
   */
  public ComponentStatus quotaStatus(String apiUrl) {
    Map<String, String> endpoints = new java.util.HashMap<>();
    endpoints.put("http", apiUrl);
    endpoints.put("tenants", Integer.toString(quotaStore.snapshot().byTenant().size()));
    if (quotaOptions.dir() != null) {
      endpoints.put("dir", quotaOptions.dir().toString());
    }
    return ComponentStatus.ready("quota", null, endpoints).withLastError(lastQuotaError)
        .withLoadedAt(lastQuotaImport);
  }

  private void refuse(String why) {
    loadErrors.increment();
    String message = "config reload refused, revision " + current.get().revision() + " keeps serving: " + why;
    lastError.set(message);
    LOG.log(Level.WARNING, "rate limit " + message);
  }

  private void pollQuietly() {
    try {
      reloadIfChanged();
    } catch (RuntimeException e) {
      // A failing poll must not cancel the schedule (a thrown exception would).
      LOG.log(Level.ERROR, "rate limit config poll failed", e);
    }
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

  /** The configuration serving now. */
  public RateLimitConfig config() {
    return current.get().config();
  }

  /** The hash of the files the serving configuration was loaded from. */
  public String revision() {
    return current.get().revision();
  }

  /** Refused reloads since start. */
  public long loadErrors() {
    return loadErrors.sum();
  }

  /** Where counters live, as configured (without a password). */
  public String storeName() {
    return storeName;
  }

  /** Ready (a configuration is loaded), its revision, the gRPC endpoint, the store and any refused reload. */
  @Override
  public ComponentStatus status() {
    return ComponentStatus.ready(COMPONENT, revision(), Map.of("grpc", endpoint(), "store", storeName))
        .withLastError(lastError.get());
  }

  private void registerMeters(MeterRegistry registry) {
    FunctionCounter.builder("meshguard.ratelimit.config.reloads", reloads, LongAdder::sum)
        .description("Rate limit configurations loaded after start").register(registry);
    FunctionCounter.builder("meshguard.ratelimit.config.load.errors", loadErrors, LongAdder::sum)
        .description("Rate limit config reloads refused; the last good config kept serving").register(registry);
    FunctionCounter.builder("meshguard.ratelimit.internal.errors", service, RateLimitService::internalErrors)
        .description("Requests answered by the failure mode after an unexpected error").register(registry);
  }

  /**
   * Stops polling, drains the gRPC server for up to its default grace, shares the tenants seen
   * since the last poll, then closes the store.
   */
  @Override
  public void close() {
    poll.cancel(false);
    if (quotaPoll != null) {
      quotaPoll.cancel(false);
    }
    if (purge != null) {
      purge.cancel(false);
    }
    try {
      grpc.close();
      tenantIndex.flush(); // the tenants seen since the last poll, before the store goes
    } finally {
      if (tls != null) {
        tls.close();
      }
      quotaStore.close();
      store.close();
    }
  }

  private static Snapshot load(Path dir, String hash) throws ConfigException {
    return new Snapshot(RateLimitConfig.load(List.of(dir)), hash);
  }

  private static String hashOrThrow(Path dir) throws ConfigException {
    if (!Files.isDirectory(dir)) {
      throw new ConfigException(List.of(new ConfigError(dir.toString(), 0, 0, "", "not a directory")));
    }
    try {
      return hash(dir);
    } catch (IOException e) {
      throw new ConfigException(List.of(new ConfigError(dir.toString(), 0, 0, "", "cannot read: " + e)));
    }
  }

  /** SHA-256 over each config file's relative path and content, in path order; 16 hex digits. */
  static String hash(Path dir) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().endsWith(".yaml") || p.getFileName().toString().endsWith(".yml"))
          .sorted()
          .toList();
    }
    for (Path file : files) {
      digest.update(dir.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
      digest.update((byte) 0);
      if (Files.size(file) > RateLimitConfig.MAX_FILE_BYTES) {
        // Refused by the loader anyway; its size and time stand in for its content.
        digest.update((Files.size(file) + "@" + Files.getLastModifiedTime(file)).getBytes(StandardCharsets.UTF_8));
      } else {
        digest.update(Files.readAllBytes(file));
      }
      digest.update((byte) 0);
    }
    return HexFormat.of().formatHex(digest.digest(), 0, 8);
  }
}

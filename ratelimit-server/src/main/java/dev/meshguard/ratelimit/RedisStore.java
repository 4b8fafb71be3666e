package dev.meshguard.ratelimit;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.tls.ClientTls;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import reactor.core.Disposable;

/**
 * Counters in Redis, through Lettuce: one server, a Sentinel-managed master, or a Redis Cluster
 * ({@link StoreUri}).
 *
 * <h2>One round trip</h2>
 * All counters of one request are decided by one call of one Lua script ({@code ratelimit.lua},
 * the twin of {@link Algorithms}), which makes each decision atomic however many meshguard
 * replicas share the Redis: a sliding window's read-then-add and a bucket's compare-and-update
 * cannot interleave with another caller's. On Redis Cluster a script may only touch keys of one
 * slot, so the counters are grouped by slot (every key of one descriptor carries the same hash
 * tag, see {@link StoreKeys}) and the groups are sent at once, one script call each, and awaited
 * together: latency is one round trip whatever the number of descriptors. A tenant quota
 * ({@code quota.lua}) joins the descriptors' script in one call on a single server, and is one
 * more call sent with the groups on a cluster ({@link #hit(List, QuotaHit, long)}). The script is loaded
 * when the store connects (on a cluster: on every master, and again whenever the topology
 * changes) and sent as EVALSHA; a server that still does not know it (restarted, failed over)
 * answers NOSCRIPT and gets one EVAL, which also caches it.
 *
 * <h2>Time</h2>
 * The script is given the engine's clock (Unix milliseconds), not Redis's {@code TIME}: windows
 * are aligned to it as upstream aligns them to its own, and a {@code ManualClock} drives the
 * algorithms in Redis exactly as in memory. Replicas should keep their clocks in sync (NTP); a
 * replica whose clock runs δ ahead can admit up to δ times the rate more to a sliding window or
 * bucket, and counts fixed windows a little early.
 *
 * <h2>Failures</h2>
 * Lettuce is configured for a rate limiter: commands time out after
 * {@link RedisOptions#commandTimeout()}, at most {@link RedisOptions#requestQueueSize()} are in
 * flight, commands are refused at once while disconnected instead of buffered, and the connection
 * is re-established in the background (every 10 ms, backing off to 1 s). Every failure becomes a
 * {@link StoreException} within the timeout, which the engine answers with its failure mode. If
 * Redis is unreachable at start, the store starts anyway, fails every call, and keeps connecting
 * once a second until it succeeds.
 */
public final class RedisStore implements CounterStore {

  private static final System.Logger LOG = System.getLogger(RedisStore.class.getName());

  /**
   * The scripts are built from three files next to this class: {@code common.lua} (integer
   * helpers), {@code ratelimit.lua} (the twin of {@link Algorithms}) and {@code quota.lua} (see
   * {@link QuotaCounters}), each file a local function on its part of KEYS and ARGV, so every
   * algorithm exists once however the scripts combine them.
   */
  private static final String COMMON = loadScript("common.lua");
  private static final String RATELIMIT = loadScript("ratelimit.lua");
  private static final String QUOTA = loadScript("quota.lua");

  /** The descriptors' counters: {@code ratelimit.lua} on all of KEYS and ARGV. */
  static final String SCRIPT = COMMON + RATELIMIT + "return ratelimit({}, 1, 1, #ARGV)\n";
  /** A tenant's quota counters: {@code quota.lua} on all of KEYS and ARGV. */
  static final String QUOTA_SCRIPT = COMMON + QUOTA + "return quota({}, 1, 1, #ARGV)\n";
  /**
   * Both in one call, for a single server (standalone or Sentinel). KEYS: the descriptor counters'
   * keys, then the quota's. ARGV: the number of descriptor keys, the number of {@code ratelimit.lua}'s
   * arguments, those arguments, then {@code quota.lua}'s. Returns {@code ratelimit.lua}'s values
   * followed by {@code quota.lua}'s.
   */
  static final String COMBINED_SCRIPT = COMMON + RATELIMIT + QUOTA + """
      local out = ratelimit({}, 1, 3, 2 + ARGV[2])
      return quota(out, 1 + ARGV[1], 3 + ARGV[2], #ARGV)
      """;

  private static final Duration RECONNECT_MIN = Duration.ofMillis(10);
  private static final Duration RECONNECT_MAX = Duration.ofSeconds(1);
  private static final Duration FIRST_CONNECT_RETRY = Duration.ofSeconds(1);
  private static final int VALUES_PER_HIT = 6;
  /** {@code quota.lua}'s arguments per limit. */
  private static final int VALUES_PER_LIMIT = 5;
  private static final int RESULTS_PER_HIT = 5;
  private static final int WARM_UP_CALLS = 20;
  /** Tenants whose quota counter names are kept (a few hundred bytes each); see {@link QuotaCounters.NameCache}. */
  private static final int QUOTA_NAMES_CACHED = 10_000;

  /** How the store reaches Redis once connected. */
  private sealed interface Link {
    RedisScriptingAsyncCommands<String, String> commands();

    void close();
  }

  private record StandaloneLink(StatefulRedisConnection<String, String> connection) implements Link {
    @Override
    public RedisScriptingAsyncCommands<String, String> commands() {
      return connection.async();
    }

    @Override
    public void close() {
      connection.close();
    }
  }

  private record ClusterLink(StatefulRedisClusterConnection<String, String> connection, Disposable topologyWatch)
      implements Link {
    @Override
    public RedisScriptingAsyncCommands<String, String> commands() {
      return connection.async();
    }

    /**
     * Opens the connection to every master now. Lettuce opens a node's connection on the first
     * command for it, and with REJECT_COMMANDS that command is refused while the connection is
     * being made; so after a start or a topology change (failover, resharding) the masters are
     * connected before requests need them.
     */
    CompletableFuture<Void> connectMasters() {
      List<CompletableFuture<?>> opening = new ArrayList<>();
      for (RedisClusterNode node : connection.getPartitions()) {
        if (node.getRole().isUpstream() && !node.hasNoSlots()) {
          // Each master also gets the scripts now, so the first requests need no NOSCRIPT retry.
          opening.add(connection.getConnectionAsync(node.getUri().getHost(), node.getUri().getPort())
              .thenCompose(c -> c.async().scriptLoad(SCRIPT).thenCompose(sha -> c.async().scriptLoad(QUOTA_SCRIPT))));
        }
      }
      return CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new));
    }

    @Override
    public void close() {
      topologyWatch.dispose();
      connection.close();
    }
  }

  private final StoreUri uri;
  private final RedisOptions options;
  private final StoreKeys keys;
  private final String sha;
  private final String quotaSha;
  private final String combinedSha;
  private final QuotaCounters.NameCache quotaNames;
  private final long timeoutNanos;
  private final long jitterSeconds;
  private final ClientResources resources;
  private final AbstractRedisClient client;
  private final ClientTls tls; // null without TLS
  private volatile ClientTls.Negotiated negotiated; // the last TLS handshake's outcome, null before one
  private final CountDownLatch closed = new CountDownLatch(1);
  private volatile Link link; // null until connected
  private volatile String notConnected; // why link is null

  private RedisStore(StoreUri uri, RedisOptions options, ClientTls tls) {
    this.uri = uri;
    this.options = options;
    this.tls = tls;
    this.keys = new StoreKeys(options.keyPrefix());
    this.sha = sha1(SCRIPT);
    this.quotaSha = sha1(QUOTA_SCRIPT);
    this.combinedSha = sha1(COMBINED_SCRIPT);
    this.quotaNames = new QuotaCounters.NameCache(options.keyPrefix(), QUOTA_NAMES_CACHED);
    this.timeoutNanos = options.commandTimeout().toNanos();
    this.jitterSeconds = options.expirationJitter().toSeconds();
    int threads = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
    this.resources = DefaultClientResources.builder()
        .ioThreadPoolSize(threads)
        .computationThreadPoolSize(threads)
        .reconnectDelay(Delay.exponential(RECONNECT_MIN, RECONNECT_MAX, 2, TimeUnit.MILLISECONDS))
        .nettyCustomizer(new NettyCustomizer() {
          @Override
          public void afterChannelInitialized(Channel channel) {
            // Lettuce calls this after adding its SslHandler; remember what each handshake
            // negotiated, so logs and tests can see the provider, protocol and suite in use.
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            if (ssl != null) {
              ssl.handshakeFuture().addListener(f -> {
                if (f.isSuccess()) {
                  negotiated = ClientTls.Negotiated.of(ssl.engine().getSession());
                }
              });
            }
          }
        })
        .build();
    SocketOptions socket = SocketOptions.builder()
        .connectTimeout(options.connectTimeout())
        .keepAlive(true)
        .tcpNoDelay(true)
        .build();
    TimeoutOptions timeouts = TimeoutOptions.enabled(options.commandTimeout());
    this.client = switch (uri) {
      case StoreUri.Cluster cluster -> {
        RedisClusterClient c = RedisClusterClient.create(resources, cluster.seeds().stream()
            .map(seed -> redisUri(seed, cluster.auth(), 0)).toList());
        c.setOptions(ClusterClientOptions.builder()
            .protocolVersion(ProtocolVersion.RESP2)
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .requestQueueSize(options.requestQueueSize())
            .socketOptions(socket)
            .timeoutOptions(timeouts)
            .sslOptions(sslOptions())
            .maxRedirects(3)
            .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                .enablePeriodicRefresh(options.clusterRefreshPeriod())
                // Every adaptive trigger (MOVED, ASK, persistent reconnects, uncovered slot,
                // unknown node) is on by default since Lettuce 7.
                .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
                .refreshTriggersReconnectAttempts(2)
                .build())
            .build());
        yield c;
      }
      case StoreUri.Standalone s -> standaloneClient(socket, timeouts);
      case StoreUri.Sentinel s -> standaloneClient(socket, timeouts);
      case StoreUri.Memory m -> throw new IllegalArgumentException("not a Redis store: " + uri);
    };
  }

  private RedisClient standaloneClient(SocketOptions socket, TimeoutOptions timeouts) {
    RedisClient c = RedisClient.create(resources);
    c.setOptions(ClientOptions.builder()
        .protocolVersion(ProtocolVersion.RESP2)
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .requestQueueSize(options.requestQueueSize())
        .socketOptions(socket)
        .timeoutOptions(timeouts)
        .sslOptions(sslOptions())
        .build());
    return c;
  }

  /**
   * TLS for {@code rediss://}, built from the {@link Crypto} given to {@link #connect(StoreUri,
   * RedisOptions, Crypto)} ({@link ClientTls}): Netty's JDK engine on {@link Crypto#tlsProvider()}
   * (BCJSSE on the approved-only module in FIPS mode), trusting {@link RedisOptions#tlsCa()} when set,
   * else the JVM's default trust store, and presenting {@link RedisOptions#tlsClientCertificate()}
   * when set (Redis's {@code tls-auth-clients}). One client's options serve every connection it
   * makes: to a standalone server, to each Sentinel and the master it names ({@code
   * rediss-sentinel://} turns TLS on for both), and to every Cluster node. Lettuce turns host
   * name verification on as well ({@code SslVerifyMode.FULL}, the default): the server's host name
   * or IP address must be in its certificate. Lettuce builds a context per connection and calls
   * the customizer last, so what {@link ClientTls#configure} sets is what every connection uses.
   */
  private SslOptions sslOptions() {
    if (tls == null) {
      return SslOptions.create(); // unused: Lettuce reads SslOptions only for rediss:// URIs
    }
    return SslOptions.builder().jdkSslProvider().sslContext(tls::configure).build();
  }

  /**
   * Connects to Redis. If it cannot be reached now, the store is returned anyway: every call
   * fails with a {@link StoreException} until a background attempt (once a second) connects.
   *
   * @param uri a Redis form of {@link StoreUri}, not {@link StoreUri.Memory}
   */
  public static RedisStore connect(StoreUri uri, RedisOptions options) {
    try {
      return connect(uri, options, Crypto.install(CryptoMode.DEFAULT));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * As {@link #connect(StoreUri, RedisOptions)}, with TLS ({@code rediss://}) on {@code crypto}'s
   * provider, key stores and random: in FIPS mode BCJSSE on the approved-only module.
   *
   * @throws ConfigException when {@code ratelimit.redis.tls_ca}, {@code tls_client_certificate} or
   *     {@code tls_private_key} cannot be read, is not PEM, or the key does not belong to the certificate
   */
  public static RedisStore connect(StoreUri uri, RedisOptions options, Crypto crypto) throws ConfigException {
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(crypto, "crypto");
    ClientTls tls = usesTls(uri) ? ClientTls.load(crypto, TLS_CA_SETTING, options.tlsCa(),
        options.tlsClientCertificate(), options.tlsPrivateKey()) : null;
    RedisStore store = new RedisStore(uri, options, tls);
    if (!store.tryConnect()) {
      Thread retry = new Thread(store::connectUntilClosed, "meshguard-redis-connect");
      retry.setDaemon(true);
      retry.start();
    }
    return store;
  }

  private boolean tryConnect() {
    try {
      Link opened = switch (client) {
        case RedisClusterClient c -> connectCluster(c);
        case RedisClient c -> {
          StandaloneLink standalone = new StandaloneLink(c.connect(StringCodec.UTF8, standaloneUri()));
          warmUp(standalone);
          yield standalone;
        }
        default -> throw new IllegalStateException("unexpected client " + client);
      };
      synchronized (this) {
        if (closed.getCount() == 0) {
          opened.close();
          return true;
        }
        link = opened;
      }
      LOG.log(Level.INFO, "rate limit store connected to {0}{1}", uri,
          tls == null ? "" : " (TLS " + tls.crypto().tlsProvider().getName() + ", " + negotiated + ")");
      return true;
    } catch (RuntimeException e) {
      String why = connectFailure(e);
      notConnected = "not connected to " + uri + ": " + why;
      LOG.log(Level.WARNING, "rate limit store cannot connect to {0} (retrying every {1} s): {2}", uri,
          FIRST_CONNECT_RETRY.toSeconds(), why);
      return false;
    }
  }

  /**
   * Why a connection attempt failed. Lettuce reports every failure as "Unable to connect to
   * host:port"; a TLS failure is named here with its cause, and an untrusted server certificate
   * with the trust anchors it was checked against.
   */
  private String connectFailure(RuntimeException e) {
    Throwable tls = null;
    Throwable untrusted = null;
    Throwable root = e;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (tls == null && t instanceof SSLException) {
        tls = t;
      }
      if (untrusted == null && (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException)) {
        untrusted = t;
      }
      root = t;
    }
    if (tls == null) {
      return e.getMessage();
    }
    if (untrusted != null) {
      String anchors = options.tlsCa() != null ? "the CA certificates in ratelimit.redis.tls_ca (" + options.tlsCa() + ")"
          : "the JVM's default trust store (set ratelimit.redis.tls_ca to the CA file of Redis's certificate)";
      return "TLS handshake failed: the server's certificate is not trusted: it does not chain to " + anchors + " ("
          + untrusted.getMessage() + ")";
    }
    return "TLS handshake failed: " + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
  }

  /**
   * Loads the script and calls it a few times without keys before requests come: a cold JVM's
   * first calls through Lettuce are slow enough to miss a tight command timeout. Failures only
   * leave the first requests slower (NOSCRIPT is retried with EVAL).
   */
  private void warmUp(StandaloneLink standalone) {
    // Two waits at most, however slow Redis is: the load, then all the calls sent at once.
    long waitMillis = Math.max(options.connectTimeout().toMillis(), options.commandTimeout().toMillis()) * 2;
    try {
      CompletableFuture.allOf(Stream.of(SCRIPT, QUOTA_SCRIPT, COMBINED_SCRIPT)
          .map(script -> standalone.connection().async().scriptLoad(script).toCompletableFuture())
          .toArray(CompletableFuture[]::new)).get(waitMillis, TimeUnit.MILLISECONDS);
      List<CompletableFuture<Object>> calls = new ArrayList<>(WARM_UP_CALLS);
      for (int i = 0; i < WARM_UP_CALLS; i++) {
        calls.add(standalone.commands().evalsha(sha, ScriptOutputType.MULTI, new String[0], "0", "0")
            .toCompletableFuture());
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.log(Level.WARNING, "rate limit store: warm-up on {0} failed: {1}", uri, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private ClusterLink connectCluster(RedisClusterClient c) {
    StatefulRedisClusterConnection<String, String> connection = c.connect(StringCodec.UTF8);
    AtomicReference<ClusterLink> self = new AtomicReference<>();
    Disposable watch = resources.eventBus().get()
        .filter(ClusterTopologyChangedEvent.class::isInstance)
        .subscribe(event -> {
          ClusterLink l = self.get();
          if (l != null) {
            l.connectMasters(); // failures show as refused commands, answered by the failure mode
          }
        });
    ClusterLink opened = new ClusterLink(connection, watch);
    self.set(opened);
    try {
      opened.connectMasters().get(options.connectTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.log(Level.WARNING, "rate limit store: not every cluster master is connected yet: {0}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return opened;
  }

  private void connectUntilClosed() {
    try {
      while (!closed.await(FIRST_CONNECT_RETRY.toMillis(), TimeUnit.MILLISECONDS)) {
        if (tryConnect()) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private RedisURI standaloneUri() {
    return switch (uri) {
      case StoreUri.Standalone s -> redisUri(s.server(), s.auth(), s.database());
      case StoreUri.Sentinel s -> {
        RedisURI.Builder b = RedisURI.builder().withSentinelMasterId(s.master());
        for (StoreUri.HostPort sentinel : s.sentinels()) {
          b.withSentinel(RedisURI.builder().withHost(sentinel.host()).withPort(sentinel.port())
              .withTimeout(options.commandTimeout()).build());
        }
        b.withDatabase(s.database()).withSsl(s.auth().tls()).withTimeout(options.commandTimeout());
        if (s.auth().password() != null) {
          b.withAuthentication(s.auth().username() == null ? "default" : s.auth().username(), s.auth().password());
        }
        yield b.build();
      }
      default -> throw new IllegalStateException("not a standalone store: " + uri);
    };
  }

  private RedisURI redisUri(StoreUri.HostPort server, StoreUri.Auth auth, int database) {
    RedisURI.Builder b = RedisURI.builder().withHost(server.host()).withPort(server.port())
        .withDatabase(database).withSsl(auth.tls()).withTimeout(options.commandTimeout());
    if (auth.password() != null) {
      b.withAuthentication(auth.username() == null ? "default" : auth.username(), auth.password());
    }
    return b.build();
  }

  @Override
  public Outcome[] hit(List<Hit> hits, long nowMillis) {
    return hit(hits, null, nowMillis).outcomes();
  }

  /**
   * The descriptor counters and the tenant quota in one round trip. On a single server
   * (standalone, Sentinel) one script call does both ({@link #COMBINED_SCRIPT}): Redis runs
   * pipelined scripts one after the other anyway, so two calls would only add a second command's
   * parsing, dispatch and reply on both sides. On a cluster a script may only touch keys of one
   * slot, and the quota's counters (the tenant's hash tag) are in another slot than the
   * descriptors' (and usually on another master), so there the quota's script is sent beside the
   * descriptors' calls and all are awaited together: still one round trip, run in parallel.
   */
  @Override
  public Answer hit(List<Hit> hits, QuotaHit quota, long nowMillis) {
    Link current = link;
    if (current == null) {
      throw new StoreException(notConnected == null ? "not connected to " + uri : notConnected);
    }
    int n = hits.size();
    String[][] hitKeys = new String[n][];
    String[][] hitArgs = new String[n][];
    for (int i = 0; i < n; i++) {
      prepare(hits.get(i), nowMillis, i, hitKeys, hitArgs);
    }
    long jitterDrawn = jitterSeconds == 0 ? 0 : ThreadLocalRandom.current().nextLong(jitterSeconds);
    String jitter = Long.toString(jitterDrawn);
    String now = Long.toString(nowMillis);
    QuotaCounters.Slot[] slots = quota == null ? null : quotaNames.of(quota).slots(nowMillis, jitterDrawn * 1000);
    boolean combined = slots != null && n > 0 && current instanceof StandaloneLink;
    // Groups of hit indices sharing a slot, in request order; one group on a single server.
    List<int[]> groups = n == 0 ? List.of() : current instanceof ClusterLink ? bySlot(hitKeys) : List.of(range(n));
    List<CompletableFuture<List<Object>>> calls = new ArrayList<>(groups.size() + 1);
    if (combined) {
      calls.add(combinedCall(current.commands(), groups.getFirst(), hitKeys, hitArgs, now, jitter, slots,
          quota.hits()));
    } else {
      for (int[] group : groups) {
        calls.add(call(current.commands(), group, hitKeys, hitArgs, now, jitter));
      }
      if (slots != null) {
        calls.add(quotaCall(current.commands(), slots, quota.hits()));
      }
    }
    try {
      if (calls.size() == 1) {
        calls.getFirst().get(timeoutNanos, TimeUnit.NANOSECONDS);
      } else {
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(timeoutNanos, TimeUnit.NANOSECONDS);
      }
    } catch (TimeoutException e) {
      throw new StoreException("redis did not answer within " + options.commandTimeout().toMillis() + " ms ("
          + uri + ")", e);
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted while waiting for redis", e);
    }
    Outcome[] outcomes = new Outcome[n];
    if (combined) {
      List<Object> values = calls.getFirst().join();
      int descriptorValues = n * RESULTS_PER_HIT;
      if (values == null || values.size() != descriptorValues + 1 + 2 * slots.length) {
        throw new StoreException("redis script answered " + (values == null ? "nothing" : values.size() + " values")
            + " for " + n + " counters and " + slots.length + " quota limits");
      }
      outcomes(values.subList(0, descriptorValues), groups.getFirst(), outcomes);
      return new Answer(outcomes, quotaOutcome(slots, quota.hits(), values.subList(descriptorValues, values.size())));
    }
    for (int g = 0; g < groups.size(); g++) {
      List<Object> values = calls.get(g).join();
      int[] group = groups.get(g);
      if (values == null || values.size() != group.length * RESULTS_PER_HIT) {
        throw new StoreException("redis script answered " + (values == null ? "nothing" : values.size() + " values")
            + " for " + group.length + " counters");
      }
      outcomes(values, group, outcomes);
    }
    return new Answer(outcomes, slots == null ? null : quotaOutcome(slots, quota.hits(), calls.getLast().join()));
  }

  /** The outcomes of the hits of {@code group}, from the script's values (five per hit). */
  private static void outcomes(List<Object> values, int[] group, Outcome[] outcomes) {
    for (int j = 0; j < group.length; j++) {
      int base = j * RESULTS_PER_HIT;
      outcomes[group[j]] = new Outcome(number(values.get(base)), number(values.get(base + 1)),
          number(values.get(base + 2)), number(values.get(base + 3)), number(values.get(base + 4)) == 1);
    }
  }

  /** {@link #COMBINED_SCRIPT}: the hits of {@code group} and the quota, in one call. */
  private CompletableFuture<List<Object>> combinedCall(RedisScriptingAsyncCommands<String, String> commands,
      int[] group, String[][] hitKeys, String[][] hitArgs, String now, String jitter, QuotaCounters.Slot[] slots,
      long hits) {
    int keyCount = 0;
    for (int i : group) {
      keyCount += hitKeys[i].length;
    }
    int descriptorKeys = keyCount;
    for (QuotaCounters.Slot slot : slots) {
      keyCount += slot.keys().length;
    }
    String[] keyArray = new String[keyCount];
    int descriptorArgs = 2 + group.length * VALUES_PER_HIT;
    String[] args = new String[2 + descriptorArgs + 1 + slots.length * VALUES_PER_LIMIT];
    args[0] = Integer.toString(descriptorKeys);
    args[1] = Integer.toString(descriptorArgs);
    int k = descriptorArgs(group, hitKeys, hitArgs, now, jitter, keyArray, 0, args, 2);
    quotaArgs(slots, hits, keyArray, k, args, 2 + descriptorArgs);
    return evalsha(commands, combinedSha, COMBINED_SCRIPT, keyArray, args);
  }

  private CompletableFuture<List<Object>> quotaCall(RedisScriptingAsyncCommands<String, String> commands,
      QuotaCounters.Slot[] slots, long hits) {
    int keyCount = 0;
    for (QuotaCounters.Slot slot : slots) {
      keyCount += slot.keys().length;
    }
    String[] keyArray = new String[keyCount];
    String[] args = new String[1 + slots.length * VALUES_PER_LIMIT];
    quotaArgs(slots, hits, keyArray, 0, args, 0);
    return evalsha(commands, quotaSha, QUOTA_SCRIPT, keyArray, args);
  }

  /** Writes {@code quota.lua}'s keys into {@code keys} from {@code k} and its arguments into {@code args} from {@code a}. */
  private static void quotaArgs(QuotaCounters.Slot[] slots, long hits, String[] keys, int k, String[] args, int a) {
    args[a++] = Long.toString(hits);
    for (QuotaCounters.Slot slot : slots) {
      for (String key : slot.keys()) {
        keys[k++] = key;
      }
      boolean sliding = slot.kind() == QuotaCounters.Kind.SLIDING;
      args[a++] = sliding ? "s" : "p";
      // The room (the most usage before the request that admits it) and the window's weight are
      // computed here rather than in Lua, where parsing and arithmetic cost more (see quota.lua).
      args[a++] = slot.limit().hard() ? Long.toString(slot.limit().amount() - hits) : "-";
      args[a++] = slot.limit().hard() ? "1" : "0";
      args[a++] = Long.toString(Math.max(slot.ttlMillis(), 1));
      args[a++] = sliding ? Long.toString(Algorithms.weight(slot.elapsedMillis(), slot.windowMillis())) : "0";
    }
  }

  /** EVALSHA, and EVAL once if the server answers NOSCRIPT (restarted, failed over, flushed). */
  private static CompletableFuture<List<Object>> evalsha(RedisScriptingAsyncCommands<String, String> commands,
      String sha, String script, String[] keys, String[] args) {
    CompletionStage<List<Object>> first = commands.evalsha(sha, ScriptOutputType.MULTI, keys, args);
    return first.toCompletableFuture().exceptionallyCompose(e -> isNoScript(e)
        ? commands.<List<Object>>eval(script, ScriptOutputType.MULTI, keys, args).toCompletableFuture()
        : CompletableFuture.failedFuture(e));
  }

  private static QuotaOutcome quotaOutcome(QuotaCounters.Slot[] slots, long hits, List<Object> values) {
    if (values == null || values.size() != 1 + 2 * slots.length) {
      throw new StoreException("redis quota script answered " + (values == null ? "nothing" : values.size()
          + " values") + " for " + slots.length + " limits");
    }
    long[] before = new long[slots.length];
    long[] current = new long[slots.length];
    for (int i = 0; i < slots.length; i++) {
      before[i] = number(values.get(1 + 2 * i));
      current[i] = number(values.get(2 + 2 * i));
    }
    return QuotaCounters.outcome(slots, hits, number(values.get(0)) == 1, before, current);
  }

  /**
   * Runs {@code script} (EVAL) on the slot of {@code keys} and waits for its answer, within
   * {@code timeout}: for the quota definitions ({@link RedisQuotaStore}), off the request path.
   */
  Object eval(String script, ScriptOutputType type, Duration timeout, String[] keys, String... args) {
    Link current = link;
    if (current == null) {
      throw new StoreException(notConnected == null ? "not connected to " + uri : notConnected);
    }
    try {
      return current.commands().eval(script, type, keys, args).toCompletableFuture()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new StoreException("redis did not answer within " + timeout.toMillis() + " ms (" + uri + ")", e);
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted while waiting for redis", e);
    }
  }

  /** Deletes the tenant's counters of the current periods, in one script on the tenant's slot. */
  @Override
  public void resetQuota(QuotaHit quota, long nowMillis) {
    List<String> keyList = new ArrayList<>();
    for (QuotaCounters.Slot slot : QuotaCounters.slots(options.keyPrefix(), quota, nowMillis, 0)) {
      keyList.addAll(List.of(slot.keys()));
    }
    eval("return redis.call('DEL', unpack(KEYS))", ScriptOutputType.INTEGER, options.commandTimeout(),
        keyList.toArray(String[]::new));
  }

  /** The key prefix of every key this store writes. */
  String keyPrefix() {
    return options.keyPrefix();
  }

  private void prepare(Hit hit, long nowMillis, int i, String[][] hitKeys, String[][] hitArgs) {
    long window = hit.windowSeconds();
    long start = Algorithms.windowStartSeconds(nowMillis, window);
    String algorithm;
    long elapsed;
    switch (hit.algorithm()) {
      case FIXED_WINDOW -> {
        algorithm = "f";
        elapsed = (Math.floorDiv(nowMillis, 1000) - start) * 1000; // upstream counts whole seconds
        hitKeys[i] = new String[] {keys.fixed(hit.counter(), window, start)};
      }
      case SLIDING_WINDOW -> {
        algorithm = "s";
        elapsed = nowMillis - start * 1000;
        hitKeys[i] = new String[] {keys.sliding(hit.counter(), window, start),
            keys.sliding(hit.counter(), window, start - window)};
      }
      case TOKEN_BUCKET -> {
        algorithm = "b";
        elapsed = 0;
        hitKeys[i] = new String[] {keys.bucket(hit.counter(), hit.limit(), window)};
      }
      default -> throw new IllegalStateException("unknown algorithm " + hit.algorithm());
    }
    hitArgs[i] = new String[] {algorithm, Long.toString(hit.limit()), Long.toString(hit.burst()),
        Long.toString(window * 1000), Long.toString(hit.hits()), Long.toString(elapsed)};
  }

  private CompletableFuture<List<Object>> call(RedisScriptingAsyncCommands<String, String> commands, int[] group,
      String[][] hitKeys, String[][] hitArgs, String now, String jitter) {
    int keyCount = 0;
    for (int i : group) {
      keyCount += hitKeys[i].length;
    }
    String[] keyArray = new String[keyCount];
    String[] args = new String[2 + group.length * VALUES_PER_HIT];
    descriptorArgs(group, hitKeys, hitArgs, now, jitter, keyArray, 0, args, 0);
    return evalsha(commands, sha, SCRIPT, keyArray, args);
  }

  /**
   * Writes {@code ratelimit.lua}'s keys for {@code group} into {@code keys} from {@code k} and its
   * arguments into {@code args} from {@code a}; returns the next free key index.
   */
  private static int descriptorArgs(int[] group, String[][] hitKeys, String[][] hitArgs, String now, String jitter,
      String[] keys, int k, String[] args, int a) {
    args[a++] = now;
    args[a++] = jitter;
    for (int i : group) {
      for (String key : hitKeys[i]) {
        keys[k++] = key;
      }
      System.arraycopy(hitArgs[i], 0, args, a, VALUES_PER_HIT);
      a += VALUES_PER_HIT;
    }
    return k;
  }

  /** NOSCRIPT: the server does not know the script. The cluster API reports it as a plain command error. */
  private static boolean isNoScript(Throwable e) {
    Throwable cause = unwrap(e);
    return cause instanceof RedisNoScriptException
        || cause instanceof RedisException && cause.getMessage() != null && cause.getMessage().startsWith("NOSCRIPT");
  }

  /** Splits hits into groups by the slot of their keys (all keys of one hit share a slot), keeping order. */
  private static List<int[]> bySlot(String[][] hitKeys) {
    Map<Integer, List<Integer>> slots = new LinkedHashMap<>();
    for (int i = 0; i < hitKeys.length; i++) {
      slots.computeIfAbsent(SlotHash.getSlot(hitKeys[i][0]), s -> new ArrayList<>()).add(i);
    }
    List<int[]> groups = new ArrayList<>(slots.size());
    for (List<Integer> indices : slots.values()) {
      groups.add(indices.stream().mapToInt(Integer::intValue).toArray());
    }
    return groups;
  }

  private static int[] range(int n) {
    int[] all = new int[n];
    for (int i = 0; i < n; i++) {
      all[i] = i;
    }
    return all;
  }

  private static long number(Object value) {
    if (value instanceof Long l) {
      return l;
    }
    throw new StoreException("redis script answered a non-integer: " + value);
  }

  /** Maps a Lettuce failure to what the engine and the logs need: a StoreException saying why. */
  private StoreException failure(Throwable cause) {
    Throwable e = unwrap(cause);
    String why = switch (e) {
      case RedisCommandTimeoutException t -> "redis did not answer within " + options.commandTimeout().toMillis()
          + " ms";
      case null -> "unknown failure";
      default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    };
    return new StoreException(why + " (" + uri + ")", e);
  }

  private static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof java.util.concurrent.CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** What the last TLS handshake with Redis negotiated; null without TLS or before the first. */
  ClientTls.Negotiated tlsNegotiated() {
    return negotiated;
  }

  private static final String TLS_CA_SETTING = "ratelimit.redis.tls_ca";

  private static boolean usesTls(StoreUri uri) {
    return switch (uri) {
      case StoreUri.Standalone s -> s.auth().tls();
      case StoreUri.Sentinel s -> s.auth().tls();
      case StoreUri.Cluster c -> c.auth().tls();
      case StoreUri.Memory m -> false;
    };
  }

  /** Whether the store has a connection (it may still be reconnecting underneath). */
  public boolean connected() {
    return link != null;
  }

  @Override
  public String toString() {
    return "RedisStore[" + uri + "]";
  }

  /** Closes the connection and Lettuce's threads. */
  @Override
  public void close() {
    Link open;
    synchronized (this) {
      if (closed.getCount() == 0) {
        return;
      }
      closed.countDown();
      open = link;
      link = null;
      notConnected = "store closed";
    }
    try {
      if (open != null) {
        open.close();
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  private static String loadScript(String name) {
    try (InputStream in = RedisStore.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha1(String text) {
    try {
      return java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JDK", e);
    }
  }
}

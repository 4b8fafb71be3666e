package dev.meshguard.ratelimit;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import dev.meshguard.core.tls.DecisionTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@code ratelimit} section of a meshguard config file (snake_case keys).
 *
 * @param configDir the directory of envoyproxy/ratelimit YAML files, searched recursively
 * @param host the gRPC bind address, {@value #DEFAULT_HOST} unless configured otherwise
 * @param port the gRPC port, {@value #DEFAULT_PORT} as envoyproxy/ratelimit; 0 picks a free one
 * @param failureMode how a store failure is answered: {@code allow} (Envoy's
 *     {@code failure_mode_deny: false}) or {@code deny}
 * @param reloadInterval how often {@code configDir} is polled for changes
 * @param maxCounters the memory store's bound on live counters
 * @param shadowMode upstream's {@code SHADOW_MODE}: see {@link EngineOptions#shadowMode()}
 * @param stopIncrementWhenOverLimit upstream's {@code STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT}:
 *     see {@link EngineOptions#stopIncrementWhenOverLimit()}
 * @param nearLimitRatio upstream's {@code NEAR_LIMIT_RATIO}, 0.8 by default
 * @param responseHeaders upstream's {@code LIMIT_RESPONSE_HEADERS_ENABLED} and header names
 * @param localCacheMaxEntries the local over-limit cache's bound, 0 to turn it off
 * @param maxMetricSeries the bound on per-descriptor metric series
 * @param store where counters live: {@code memory}, {@code redis://host:port},
 *     {@code redis-cluster://host:port,host:port} or {@code redis-sentinel://host:port,.../master}
 *     ({@link StoreUri})
 * @param redis how the Redis stores talk to Redis
 * @param quota per-tenant quotas: the {@code TenantQuota} directory and the tenant key
 * @param tls TLS on the gRPC port, configured as the authz server's {@code authz.tls}; null for
 *     plaintext. {@code allowed_peers} is who may call {@code ShouldRateLimit} (and health and
 *     reflection); the quota service has its own callers ({@link QuotaOptions#adminSpiffeIds()})
 */
public record RateLimitOptions(
    Path configDir,
    @NotBlank String host,
    @Range(min = "0", max = "65535") int port,
    FailureMode failureMode,
    @Range(min = "10ms", max = "1h") Duration reloadInterval,
    @Range(min = "1") int maxCounters,
    boolean shadowMode,
    boolean stopIncrementWhenOverLimit,
    @Range(min = "0", max = "1") double nearLimitRatio,
    ResponseHeaders responseHeaders,
    @Range(min = "0") int localCacheMaxEntries,
    @Range(min = "1") int maxMetricSeries,
    @NotBlank String store,
    RedisOptions redis,
    QuotaOptions quota,
    DecisionTls tls) {

  public static final Path DEFAULT_CONFIG_DIR = Path.of("policies", "ratelimit");
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8081;
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(2);
  public static final String DEFAULT_STORE = "memory";

  public static final RateLimitOptions DEFAULTS = new RateLimitOptions(DEFAULT_CONFIG_DIR, DEFAULT_HOST, DEFAULT_PORT,
      FailureMode.ALLOW, DEFAULT_RELOAD_INTERVAL, MemoryStore.DEFAULT_MAX_ENTRIES);

  public RateLimitOptions {
    Objects.requireNonNull(configDir, "configDir");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(failureMode, "failureMode");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
    Objects.requireNonNull(responseHeaders, "responseHeaders");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, found " + port);
    }
    if (reloadInterval.isNegative() || reloadInterval.isZero()) {
      throw new IllegalArgumentException("reloadInterval must be positive, found " + reloadInterval);
    }
    if (maxCounters <= 0) {
      throw new IllegalArgumentException("maxCounters must be positive, found " + maxCounters);
    }
    // The engine's own checks (ratio, cache and series bounds), at load time rather than at start.
    new EngineOptions(failureMode, shadowMode, stopIncrementWhenOverLimit, nearLimitRatio, localCacheMaxEntries,
        maxMetricSeries);
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(redis, "redis");
    Objects.requireNonNull(quota, "quota");
    StoreUri.parse(store); // refuses a malformed store now, with what the forms are
  }

  /** All settings but TLS: a plaintext gRPC port. */
  public RateLimitOptions(Path configDir, String host, int port, FailureMode failureMode, Duration reloadInterval,
      int maxCounters, boolean shadowMode, boolean stopIncrementWhenOverLimit, double nearLimitRatio,
      ResponseHeaders responseHeaders, int localCacheMaxEntries, int maxMetricSeries, String store,
      RedisOptions redis, QuotaOptions quota) {
    this(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode, stopIncrementWhenOverLimit,
        nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store, redis, quota, null);
  }

  /** The server and memory store settings, with the engine's and Redis's at their defaults. */
  public RateLimitOptions(Path configDir, String host, int port, FailureMode failureMode, Duration reloadInterval,
      int maxCounters) {
    this(configDir, host, port, failureMode, reloadInterval, maxCounters, EngineOptions.DEFAULTS.shadowMode(),
        EngineOptions.DEFAULTS.stopIncrementWhenOverLimit(), EngineOptions.DEFAULTS.nearLimitRatio(),
        ResponseHeaders.DEFAULTS, EngineOptions.DEFAULTS.localCacheMaxEntries(),
        EngineOptions.DEFAULTS.maxMetricSeries(), DEFAULT_STORE, RedisOptions.DEFAULTS, QuotaOptions.DEFAULTS);
  }

  /** All settings but the quotas, which are {@link QuotaOptions#DEFAULTS}. */
  public RateLimitOptions(Path configDir, String host, int port, FailureMode failureMode, Duration reloadInterval,
      int maxCounters, boolean shadowMode, boolean stopIncrementWhenOverLimit, double nearLimitRatio,
      ResponseHeaders responseHeaders, int localCacheMaxEntries, int maxMetricSeries, String store,
      RedisOptions redis) {
    this(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode, stopIncrementWhenOverLimit,
        nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store, redis, QuotaOptions.DEFAULTS);
  }

  public RateLimitOptions withQuota(QuotaOptions newQuota) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store, redis,
        newQuota, tls);
  }

  /** {@link #store()}, parsed. */
  public StoreUri storeUri() {
    return StoreUri.parse(store);
  }

  /** What the engine needs of these options. */
  public EngineOptions engineOptions() {
    return new EngineOptions(failureMode, shadowMode, stopIncrementWhenOverLimit, nearLimitRatio, localCacheMaxEntries,
        maxMetricSeries);
  }

  public RateLimitOptions withConfigDir(Path dir) {
    return new RateLimitOptions(dir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store,
        redis, quota, tls);
  }

  public RateLimitOptions withPort(int newPort) {
    return new RateLimitOptions(configDir, host, newPort, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store,
        redis, quota, tls);
  }

  public RateLimitOptions withFailureMode(FailureMode mode) {
    return new RateLimitOptions(configDir, host, port, mode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store,
        redis, quota, tls);
  }

  /** These options with the engine's settings replaced (the failure mode included). */
  public RateLimitOptions withEngineOptions(EngineOptions engine) {
    return new RateLimitOptions(configDir, host, port, engine.failureMode(), reloadInterval, maxCounters,
        engine.shadowMode(), engine.stopIncrementWhenOverLimit(), engine.nearLimitRatio(), responseHeaders,
        engine.localCacheMaxEntries(), engine.maxMetricSeries(), store, redis, quota, tls);
  }

  public RateLimitOptions withResponseHeaders(ResponseHeaders headers) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, headers, localCacheMaxEntries, maxMetricSeries, store,
        redis, quota, tls);
  }

  public RateLimitOptions withStore(String newStore) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, newStore,
        redis, quota, tls);
  }

  public RateLimitOptions withRedis(RedisOptions newRedis) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store,
        newRedis, quota, tls);
  }

  /** These options with TLS on the gRPC port ({@code ratelimit.tls}); null for plaintext. */
  public RateLimitOptions withTls(DecisionTls newTls) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, shadowMode,
        stopIncrementWhenOverLimit, nearLimitRatio, responseHeaders, localCacheMaxEntries, maxMetricSeries, store,
        redis, quota, newTls);
  }
}

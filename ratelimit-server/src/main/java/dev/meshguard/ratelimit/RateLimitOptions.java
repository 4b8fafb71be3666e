package dev.meshguard.ratelimit;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
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
 * @param store where counters live: {@code memory}, {@code redis://host:port},
 *     {@code redis-cluster://host:port,host:port} or {@code redis-sentinel://host:port,.../master}
 *     ({@link StoreUri})
 * @param redis how the Redis stores talk to Redis
 */
public record RateLimitOptions(
    Path configDir,
    @NotBlank String host,
    @Range(min = "0", max = "65535") int port,
    FailureMode failureMode,
    @Range(min = "10ms", max = "1h") Duration reloadInterval,
    @Range(min = "1") int maxCounters,
    @NotBlank String store,
    RedisOptions redis) {

  public static final Path DEFAULT_CONFIG_DIR = Path.of("policies", "ratelimit");
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8081;
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(2);

  public static final String DEFAULT_STORE = "memory";

  public static final RateLimitOptions DEFAULTS = new RateLimitOptions(DEFAULT_CONFIG_DIR, DEFAULT_HOST, DEFAULT_PORT,
      FailureMode.ALLOW, DEFAULT_RELOAD_INTERVAL, MemoryStore.DEFAULT_MAX_ENTRIES, DEFAULT_STORE, RedisOptions.DEFAULTS);

  public RateLimitOptions {
    Objects.requireNonNull(configDir, "configDir");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(failureMode, "failureMode");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
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
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(redis, "redis");
    StoreUri.parse(store); // refuses a malformed store now, with what the forms are
  }

  /** The memory store and default Redis options. */
  public RateLimitOptions(Path configDir, String host, int port, FailureMode failureMode, Duration reloadInterval,
      int maxCounters) {
    this(configDir, host, port, failureMode, reloadInterval, maxCounters, DEFAULT_STORE, RedisOptions.DEFAULTS);
  }

  /** {@link #store()}, parsed. */
  public StoreUri storeUri() {
    return StoreUri.parse(store);
  }

  public RateLimitOptions withStore(String newStore) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, newStore, redis);
  }

  public RateLimitOptions withRedis(RedisOptions newRedis) {
    return new RateLimitOptions(configDir, host, port, failureMode, reloadInterval, maxCounters, store, newRedis);
  }

  public RateLimitOptions withConfigDir(Path dir) {
    return new RateLimitOptions(dir, host, port, failureMode, reloadInterval, maxCounters, store, redis);
  }

  public RateLimitOptions withPort(int newPort) {
    return new RateLimitOptions(configDir, host, newPort, failureMode, reloadInterval, maxCounters, store, redis);
  }

  public RateLimitOptions withFailureMode(FailureMode mode) {
    return new RateLimitOptions(configDir, host, port, mode, reloadInterval, maxCounters, store, redis);
  }
}

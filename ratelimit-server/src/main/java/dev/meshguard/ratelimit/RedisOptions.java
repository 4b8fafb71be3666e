package dev.meshguard.ratelimit;

import dev.meshguard.core.config.Range;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@code ratelimit.redis} section: how the Redis stores talk to Redis. The defaults are
 * chosen for a rate limiter, not Lettuce's (which wait 60 s for a command, queue without bound
 * and buffer commands while disconnected): a decision that Redis cannot make quickly is answered
 * by the failure mode instead.
 *
 * @param commandTimeout how long one request's script may take before the failure mode answers;
 *     keep it below Envoy's rate limit filter {@code timeout} (20 ms by default there)
 * @param connectTimeout how long a connection attempt may take
 * @param requestQueueSize commands in flight per connection before new ones are refused (and
 *     answered by the failure mode)
 * @param keyPrefix put before every key (envoyproxy/ratelimit's {@code CACHE_KEY_PREFIX}); no braces
 * @param expirationJitter up to this much is added to every key's expiry, so keys written together
 *     do not all expire together (envoyproxy/ratelimit's {@code EXPIRATION_JITTER_MAX_SECONDS},
 *     300 s there too); 0 for none
 * @param clusterRefreshPeriod how often a Redis Cluster's topology is re-read besides when Redis
 *     redirects a command or a node stays unreachable
 * @param tlsCa for {@code rediss://} stores: a PEM file of the CA certificates that Redis's server
 *     certificate must chain to (its host name or IP address is checked too); null for the JVM's
 *     default trust store. Ignored without TLS.
 * @param tlsClientCertificate for {@code rediss://} stores: a PEM file of the client certificate
 *     chain (leaf first) presented to Redis, for servers that require one ({@code tls-auth-clients
 *     yes}); null for none. Given exactly when {@code tlsPrivateKey} is. Ignored without TLS.
 * @param tlsPrivateKey the PEM private key of {@code tlsClientCertificate}; null for none
 */
public record RedisOptions(
    @Range(min = "1ms", max = "1h") Duration commandTimeout,
    @Range(min = "1ms", max = "1h") Duration connectTimeout,
    @Range(min = "1") int requestQueueSize,
    String keyPrefix,
    @Range(min = "0", max = "1h") Duration expirationJitter,
    @Range(min = "1s", max = "1h") Duration clusterRefreshPeriod,
    Path tlsCa,
    Path tlsClientCertificate,
    Path tlsPrivateKey) {

  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(50);
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofMillis(500);
  public static final int DEFAULT_REQUEST_QUEUE_SIZE = 4096;
  public static final String DEFAULT_KEY_PREFIX = "mg:";
  public static final Duration DEFAULT_EXPIRATION_JITTER = Duration.ofSeconds(300);
  public static final Duration DEFAULT_CLUSTER_REFRESH_PERIOD = Duration.ofSeconds(10);

  public static final RedisOptions DEFAULTS = new RedisOptions(DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
      DEFAULT_REQUEST_QUEUE_SIZE, DEFAULT_KEY_PREFIX, DEFAULT_EXPIRATION_JITTER, DEFAULT_CLUSTER_REFRESH_PERIOD, null,
      null, null);

  public RedisOptions {
    Objects.requireNonNull(commandTimeout, "commandTimeout");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(keyPrefix, "keyPrefix");
    Objects.requireNonNull(expirationJitter, "expirationJitter");
    Objects.requireNonNull(clusterRefreshPeriod, "clusterRefreshPeriod");
    positive(commandTimeout, "commandTimeout");
    positive(connectTimeout, "connectTimeout");
    positive(clusterRefreshPeriod, "clusterRefreshPeriod");
    if (expirationJitter.isNegative()) {
      throw new IllegalArgumentException("expirationJitter must not be negative, found " + expirationJitter);
    }
    if (requestQueueSize <= 0) {
      throw new IllegalArgumentException("requestQueueSize must be positive, found " + requestQueueSize);
    }
    if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
      throw new IllegalArgumentException("keyPrefix must not contain '{' or '}' (they mark Redis Cluster hash tags)");
    }
    if ((tlsClientCertificate == null) != (tlsPrivateKey == null)) {
      // The config binder reports this at the ratelimit.redis section, so the message names the keys.
      throw new IllegalArgumentException("tls_client_certificate and tls_private_key are given together"
          + " (tls_client_certificate " + tlsClientCertificate + ", tls_private_key " + tlsPrivateKey + ")");
    }
  }

  /** Options without a TLS CA file (the JVM's default trust store for {@code rediss://}). */
  public RedisOptions(Duration commandTimeout, Duration connectTimeout, int requestQueueSize, String keyPrefix,
      Duration expirationJitter, Duration clusterRefreshPeriod) {
    this(commandTimeout, connectTimeout, requestQueueSize, keyPrefix, expirationJitter, clusterRefreshPeriod, null,
        null, null);
  }

  private static void positive(Duration d, String name) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, found " + d);
    }
  }

  public RedisOptions withCommandTimeout(Duration timeout) {
    return new RedisOptions(timeout, connectTimeout, requestQueueSize, keyPrefix, expirationJitter,
        clusterRefreshPeriod, tlsCa, tlsClientCertificate, tlsPrivateKey);
  }

  public RedisOptions withRequestQueueSize(int size) {
    return new RedisOptions(commandTimeout, connectTimeout, size, keyPrefix, expirationJitter, clusterRefreshPeriod,
        tlsCa, tlsClientCertificate, tlsPrivateKey);
  }

  public RedisOptions withClusterRefreshPeriod(Duration period) {
    return new RedisOptions(commandTimeout, connectTimeout, requestQueueSize, keyPrefix, expirationJitter, period,
        tlsCa, tlsClientCertificate, tlsPrivateKey);
  }

  /** These options trusting the CA certificates in {@code caFile} (PEM) for {@code rediss://}; null for the JVM's. */
  public RedisOptions withTlsCa(Path caFile) {
    return new RedisOptions(commandTimeout, connectTimeout, requestQueueSize, keyPrefix, expirationJitter,
        clusterRefreshPeriod, caFile, tlsClientCertificate, tlsPrivateKey);
  }

  /**
   * These options presenting the client certificate chain in {@code certFile} with its key in
   * {@code keyFile} (PEM) to a {@code rediss://} Redis; both null for none.
   */
  public RedisOptions withTlsClientCertificate(Path certFile, Path keyFile) {
    return new RedisOptions(commandTimeout, connectTimeout, requestQueueSize, keyPrefix, expirationJitter,
        clusterRefreshPeriod, tlsCa, certFile, keyFile);
  }
}

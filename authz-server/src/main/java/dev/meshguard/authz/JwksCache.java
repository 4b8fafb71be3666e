package dev.meshguard.authz;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.nimbusds.jose.jwk.JWKSet;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;

/**
 * JWK Sets fetched from {@code jwksUri}s, cached per URI.
 *
 * <h2>Design</h2>
 * One Caffeine {@link AsyncLoadingCache} entry per URI holds an immutable {@link Entry}: the last
 * good key set with when it was fetched, and when the last fetch (good or not) finished. Caffeine
 * gives the single in-flight fetch per URI (concurrent first requests share one load, concurrent
 * {@code refresh} calls share one reload), the bound on URIs and the eviction of unused ones; the
 * freshness policy is ours, read from the entry on each lookup:
 * <ul>
 *   <li>fresh (younger than the TTL): served;
 *   <li>older than the TTL but within the stale-if-error window: served, and a background refresh
 *       is started (unless one finished less than the minimum refresh interval ago), so a slow or
 *       failing JWKS server never delays a request that has keys;
 *   <li>no usable keys (cold, or past the stale window): the request waits for a fetch, at most
 *       its timeout;
 *   <li>a {@code kid} the keys do not hold: {@link #refetch} waits for one new fetch, at most once
 *       per minimum refresh interval per URI, so forged {@code kid}s cannot drive fetches.
 * </ul>
 * Fetches never fail their future: a failure becomes an entry that keeps the previous good keys
 * (stale-if-error) and records the attempt time, which rate-limits the next try.
 *
 * <p>{@code https} fetches go through the server's {@code Crypto} ({@link ClientTls}: BCJSSE on
 * the approved-only provider in FIPS mode), trusting the JVM's default trust store (there is no
 * CA setting for JWKS).
 *
 * <p>Fetches use the JDK {@link HttpClient} asynchronously ({@code sendAsync}, bounded by the
 * timeout); a request thread only ever waits on a future with a timeout. The gRPC service runs on
 * grpc-java's default executor, not on a Netty event loop, so such a wait blocks no I/O thread.
 * The race we accept: two lookups may both see an old attempt time and both call {@code refresh};
 * Caffeine hands both the same in-flight reload.
 */
final class JwksCache {

  private static final System.Logger LOG = System.getLogger(JwksCache.class.getName());

  /** Unused URIs leave the cache after this long (their policies were probably removed). */
  static final Duration UNUSED_AFTER = Duration.ofHours(2);
  static final int MAX_URIS = 1_000;

  /**
   * What is known about one URI.
   *
   * @param keys the last good key set; null when no fetch has succeeded
   * @param fetchedAt {@link Clock#nanoTime()} of the fetch that produced {@code keys}
   * @param attemptedAt {@link Clock#nanoTime()} when the last fetch finished, good or not
   * @param error why the last fetch failed; null when it succeeded
   */
  record Entry(JWKSet keys, long fetchedAt, long attemptedAt, String error) {}

  private final JwtOptions options;
  private final Clock clock;
  private final AuthzMetrics metrics;
  private final AsyncLoadingCache<String, Entry> cache;
  private final ClientTls tls;
  private volatile HttpClient client; // created on the first fetch: most deployments never fetch

  /** @param tls the TLS of {@code https} fetches: the server's provider and trust material */
  JwksCache(JwtOptions options, Clock clock, AuthzMetrics metrics, ClientTls tls) {
    this.tls = java.util.Objects.requireNonNull(tls, "tls");
    this.options = options;
    this.clock = clock;
    this.metrics = metrics;
    this.cache = Caffeine.newBuilder()
        .maximumSize(MAX_URIS)
        .expireAfterAccess(UNUSED_AFTER)
        .ticker(clock::nanoTime)
        // Maintenance and completion callbacks run on the thread that completes the fetch.
        .executor(Runnable::run)
        .buildAsync(new AsyncCacheLoader<String, Entry>() {
          @Override
          public CompletableFuture<Entry> asyncLoad(String uri, Executor executor) {
            return fetch(uri, null);
          }

          @Override
          public CompletableFuture<Entry> asyncReload(String uri, Entry old, Executor executor) {
            return fetch(uri, old);
          }
        });
  }

  /**
   * The keys of {@code uri} for a request: cached ones when usable (starting a background refresh
   * when they are past the TTL), else the result of a fetch awaited at most {@code wait}; null
   * when there are none.
   */
  JWKSet keys(String uri, Duration wait) {
    CompletableFuture<Entry> future = cache.get(uri);
    Entry e = future.getNow(null);
    if (e == null) {
      e = await(future, wait);
      if (e == null) {
        return null; // the first fetch outlived the wait; it goes on and serves later requests
      }
    }
    long now = clock.nanoTime();
    if (usable(e, now)) {
      if (now - e.fetchedAt() > options.jwksCacheTtl().toNanos() && mayFetch(e, now)) {
        cache.synchronous().refresh(uri); // served stale meanwhile; not awaited
      }
      return e.keys();
    }
    if (!mayFetch(e, now)) {
      return null; // failed recently: do not hammer the server
    }
    Entry fetched = await(cache.synchronous().refresh(uri), wait);
    return fetched != null && usable(fetched, clock.nanoTime()) ? fetched.keys() : null;
  }

  /** Starts a fetch of {@code uri} unless it is cached or in flight; does not wait. */
  void prefetch(String uri) {
    cache.get(uri);
  }

  /**
   * New keys of {@code uri} after a token named a {@code kid} that {@code seen} lacks (key
   * rotation): one fetch awaited at most {@code wait}, unless one finished within the minimum
   * refresh interval. Null when no new key set came.
   */
  JWKSet refetch(String uri, JWKSet seen, Duration wait) {
    // The async view: the synchronous one would block on a fetch in flight.
    CompletableFuture<Entry> present = cache.getIfPresent(uri);
    Entry e = present == null ? null : present.getNow(null);
    long now = clock.nanoTime();
    if (e == null || !mayFetch(e, now)) {
      return null;
    }
    Entry fetched = await(cache.synchronous().refresh(uri), wait);
    if (fetched == null || fetched.keys() == null || fetched.keys() == seen) {
      return null;
    }
    return fetched.keys();
  }

  private boolean usable(Entry e, long now) {
    return e.keys() != null
        && now - e.fetchedAt() <= options.jwksCacheTtl().toNanos() + options.jwksStaleIfError().toNanos();
  }

  private boolean mayFetch(Entry e, long now) {
    return now - e.attemptedAt() >= options.jwksMinRefreshInterval().toNanos();
  }

  private static Entry await(CompletableFuture<Entry> future, Duration wait) {
    try {
      return future.get(wait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      return null;
    }
  }

  /** One GET of {@code uri}; the future always completes normally, within the timeout. */
  private CompletableFuture<Entry> fetch(String uri, Entry previous) {
    Duration timeout = options.jwksTimeout();
    HttpRequest request;
    try {
      request = HttpRequest.newBuilder(URI.create(uri)).timeout(timeout).header("Accept", "application/json")
          .GET().build();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(failed(uri, previous, "error", "not a valid URI"));
    }
    try {
      return client(timeout).sendAsync(request, HttpResponse.BodyHandlers.ofString())
          // The client's timeout covers the response headers; this bounds the body too.
          .orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
          .handle((response, error) -> {
            if (error != null) {
              Throwable cause = error.getCause() != null ? error.getCause() : error;
              boolean timedOut = cause instanceof TimeoutException
                  || cause instanceof java.net.http.HttpTimeoutException;
              return failed(uri, previous, timedOut ? "timeout" : "error",
                  timedOut ? "timed out after " + timeout : cause.getClass().getSimpleName() + ": " + cause.getMessage());
            }
            if (response.statusCode() != 200) {
              return failed(uri, previous, "error", "HTTP status " + response.statusCode());
            }
            String body = response.body();
            if (body.length() > options.maxJwksBytes()) {
              return failed(uri, previous, "error", "document over " + options.maxJwksBytes() + " bytes");
            }
            try {
              JWKSet keys = JWKSet.parse(body);
              long now = clock.nanoTime();
              metrics.jwksFetch("success");
              return new Entry(keys, now, now, null);
            } catch (ParseException e) {
              return failed(uri, previous, "invalid", "not a JWK Set: " + e.getMessage());
            }
          });
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failed(uri, previous, "error",
          e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())));
    }
  }

  /** The entry after a failed fetch: the previous keys kept (stale-if-error), the attempt recorded. */
  private Entry failed(String uri, Entry previous, String outcome, String why) {
    metrics.jwksFetch(outcome);
    // Off the request path (a fetch completion); the URI and reason only, never a token.
    LOG.log(Level.WARNING, "JWKS fetch from {0} failed: {1}{2}", uri, why,
        previous != null && previous.keys() != null ? " (serving the previous keys)" : "");
    long now = clock.nanoTime();
    return previous == null || previous.keys() == null
        ? new Entry(null, 0, now, why)
        : new Entry(previous.keys(), previous.fetchedAt(), now, why);
  }

  private HttpClient client(Duration connectTimeout) {
    HttpClient c = client;
    if (c == null) {
      synchronized (this) {
        c = client;
        if (c == null) {
          SSLContext context;
          try {
            context = tls.sslContext();
          } catch (ConfigException e) {
            // Only if the provider cannot init a context from managers it built already; the fetch fails with this.
            throw new IllegalStateException(e.errors().getFirst().message(), e);
          }
          c = HttpClient.newBuilder().connectTimeout(connectTimeout).followRedirects(HttpClient.Redirect.NORMAL)
              .sslContext(context).sslParameters(tls.sslParameters()).build();
          client = c;
        }
      }
    }
    return c;
  }

  /**
   * The client of the fetches, null before the first. Its {@code sslContext()} shows the provider
   * (the JDK client wraps the handshake's session, hiding the provider's own session class).
   */
  HttpClient httpClient() {
    return client;
  }
}

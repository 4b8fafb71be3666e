package dev.meshguard.bench;

import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.Algorithm;
import dev.meshguard.ratelimit.CounterKey;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.ratelimit.Hit;
import dev.meshguard.ratelimit.RedisStore;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.github.bucket4j.redis.lettuce.cas.LettuceBasedProxyManager;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * rls-load's library comparison, without gRPC: one token bucket per key ({@value #LIMIT} per
 * second, burst {@value #LIMIT}) decided on Redis by meshguard's {@link RedisStore} (one Lua
 * script call, GCRA) and by Bucket4j's Lettuce proxy manager ({@code LettuceBasedProxyManager},
 * compare-and-swap: the only Lettuce integration Bucket4j 8 has), on the same Redis, by the same
 * number of threads, each deciding one hit at a time on a key drawn from the same set.
 */
final class DirectRedisRun {
  static final long LIMIT = 1000;
  private static final Duration WINDOW = Duration.ofSeconds(1);

  /** Decides one hit on key number {@code key}; true when admitted. */
  interface Decider {
    boolean decide(int key);
  }

  /**
   * What one run measured.
   *
   * @param decisions decisions in the measured interval, of which {@code denied} were refused and
   *     {@code errors} failed
   * @param total every decision of the run, warm-up and stop included
   */
  record Result(double decisionsPerSecond, long decisions, long denied, long errors, long total) {}

  private DirectRedisRun() {}

  /**
   * Runs {@code decider} on {@code threads} virtual threads for {@code warmup} and then
   * {@code measure}; decisions per second over {@code measure}.
   */
  static Result run(Decider decider, int keys, int threads, Duration warmup, Duration measure)
      throws InterruptedException {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong decisions = new AtomicLong();
    AtomicLong denied = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    List<Thread> workers = new ArrayList<>(threads);
    for (int t = 0; t < threads; t++) {
      SplittableRandom random = new SplittableRandom(t);
      workers.add(Thread.ofVirtual().name("rls-load-direct-" + t).start(() -> {
        while (!stop.get()) {
          try {
            if (!decider.decide(random.nextInt(keys))) {
              denied.incrementAndGet();
            }
          } catch (RuntimeException e) {
            errors.incrementAndGet();
          }
          decisions.incrementAndGet();
        }
      }));
    }
    Thread.sleep(warmup.toMillis());
    long startCount = decisions.get();
    long startDenied = denied.get();
    long startErrors = errors.get();
    long start = System.nanoTime();
    Thread.sleep(measure.toMillis());
    long count = decisions.get() - startCount;
    long end = System.nanoTime();
    long deniedCount = denied.get() - startDenied;
    long errorCount = errors.get() - startErrors;
    stop.set(true);
    for (Thread worker : workers) {
      worker.join();
    }
    return new Result(count / ((end - start) / 1e9), count, deniedCount, errorCount, decisions.get());
  }

  /** meshguard's store: a token bucket hit per decision, as the engine would send it. */
  static Decider meshguard(RedisStore store, int keys, Clock clock) {
    List<List<Hit>> hits = new ArrayList<>(keys);
    for (int k = 0; k < keys; k++) {
      CounterKey counter = CounterKey.of(RlsLoad.DOMAIN, List.of(new Descriptor.Entry("user", "u" + k)));
      hits.add(List.of(new Hit(counter, Algorithm.TOKEN_BUCKET, LIMIT, LIMIT, WINDOW.toSeconds(), 1)));
    }
    return key -> !store.hit(hits.get(key), clock.millis())[0].over();
  }

  /** Bucket4j on its own Lettuce connection (strings for keys, bytes for state, as it requires). */
  static final class Bucket4j implements AutoCloseable {
    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final BucketProxy[] buckets;

    Bucket4j(RedisURI server, int keys) {
      this.client = RedisClient.create(server);
      this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
      LettuceBasedProxyManager<String> proxies = Bucket4jLettuce.casBasedBuilder(connection)
          .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
          .build();
      BucketConfiguration configuration = BucketConfiguration.builder()
          .addLimit(limit -> limit.capacity(LIMIT).refillGreedy(LIMIT, WINDOW))
          .build();
      this.buckets = new BucketProxy[keys];
      for (int k = 0; k < keys; k++) {
        buckets[k] = proxies.builder().build("b4j:bench:u" + k, () -> configuration);
      }
    }

    Decider decider() {
      return key -> buckets[key].tryConsume(1);
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}

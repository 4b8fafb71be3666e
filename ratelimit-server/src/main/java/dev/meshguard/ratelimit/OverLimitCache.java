package dev.meshguard.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.meshguard.core.time.Clock;
import java.time.Instant;

/**
 * The local over-limit cache: fixed-window counters this process has seen over their limit, so
 * that later hits in the same window are answered OVER_LIMIT without a store call (upstream's
 * freecache {@code localCache} in {@code src/limiter/base_limiter.go}).
 *
 * <p>Design: a bounded Caffeine cache from the counter's key (which carries the window's start
 * and length, so a new window is a new key and can never hit an old entry) to the count the store
 * returned. An entry expires at its window's end, by the injected clock (Caffeine's ticker is the
 * clock's monotonic time; the time-to-live is computed from wall time once, at insertion); expiry
 * only frees memory, correctness rests on the key. A full cache evicts by Caffeine's W-TinyLFU
 * policy; an evicted key costs one store call, never a wrong answer.
 *
 * <p>A hit needs the cached count to exceed the limit being applied now, not merely an entry:
 * counts only grow within a window, so {@code count > requests_per_unit} stays true, but a key
 * cached under a lower limit (a request's own {@code RateLimitOverride}, or a limit raised by a
 * reload) goes to the store again. Upstream caches the key alone, so there a low override
 * poisons the key for every other limit on it (envoyproxy/ratelimit#1077).
 *
 * <p>Only fixed windows may be cached: a sliding window or a token bucket that is over now admits
 * again before its window ends.
 *
 * <p>Maintenance runs on the calling thread ({@code executor(Runnable::run)}): no background
 * thread, and tests with a manual clock see expiry deterministically.
 */
final class OverLimitCache {

  /** The count seen over the limit, and how long the entry lives. */
  private record Over(long count, long ttlNanos) {}

  /** The same names as the stores give the windows (they carry the window's start and length). */
  private static final StoreKeys KEYS = new StoreKeys("");

  private final Cache<String, Over> cache;

  OverLimitCache(int maxEntries, Clock clock) {
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    this.cache = Caffeine.newBuilder()
        .maximumSize(maxEntries)
        .ticker(clock::nanoTime)
        .executor(Runnable::run)
        .expireAfter(new Expiry<String, Over>() {
          @Override
          public long expireAfterCreate(String key, Over value, long currentTime) {
            return value.ttlNanos();
          }

          @Override
          public long expireAfterUpdate(String key, Over value, long currentTime, long currentDuration) {
            return currentDuration; // the same key is the same window: it still ends when it did
          }

          @Override
          public long expireAfterRead(String key, Over value, long currentTime, long currentDuration) {
            return currentDuration;
          }
        })
        .build();
  }

  /**
   * Whether the store has already shown {@code counter} over {@code requestsPerUnit} in its fixed
   * window of {@code windowSeconds} at {@code nowSeconds}.
   */
  boolean isOver(CounterKey counter, long windowSeconds, long nowSeconds, long requestsPerUnit) {
    long start = nowSeconds - Math.floorMod(nowSeconds, windowSeconds);
    Over over = cache.getIfPresent(KEYS.fixed(counter, windowSeconds, start));
    return over != null && over.count() > requestsPerUnit;
  }

  /**
   * Remembers that the store counted {@code count} for {@code counter}'s fixed window of
   * {@code windowSeconds}, over some limit, at {@code now}.
   */
  void put(CounterKey counter, long windowSeconds, long count, Instant now) {
    long start = now.getEpochSecond() - Math.floorMod(now.getEpochSecond(), windowSeconds);
    long ttlNanos = (start + windowSeconds - now.getEpochSecond()) * 1_000_000_000L - now.getNano();
    if (ttlNanos > 0) {
      cache.put(KEYS.fixed(counter, windowSeconds, start), new Over(count, ttlNanos));
    }
  }

  /** Live entries (after pending maintenance), for tests and status. */
  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }
}

package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fixed-window counters in this process: the store for a single instance.
 *
 * <h2>Concurrency</h2>
 * A {@link ConcurrentHashMap} from key to a counter holding an {@link AtomicLong}; no locks of our
 * own. An increment is {@code get}, else {@code putIfAbsent} of a new counter (the loser of a race
 * adopts the winner's), then {@code addAndGet}: every caller of one key in one window adds to the
 * same atomic, so counts are exact. Because a key carries its window start, a new window is a new
 * key and an old counter is never reset in place.
 *
 * <p>Accepted race: the sweeper removes only counters whose window has ended. A caller that built
 * its key just before the end may still add to a removed counter; that count is lost, but it
 * belonged to a window that is over and will never be read again.
 *
 * <h2>Expiry and bound</h2>
 * A counter expires at the end of its window (by the injected {@link Clock}). Expired counters
 * are swept when a new counter would reach {@code maxEntries}, at most once per clock second,
 * and by {@link #purgeExpired}. If the store is still full after a sweep, a request that needs a
 * <em>new</em> counter fails with {@link StoreFullException} (the engine applies its failure
 * mode); existing counters keep counting exactly. Live counters are never evicted, since that
 * would silently reset them and admit more than the limit. Concurrent inserts may overshoot
 * {@code maxEntries} by at most the number of inserting threads.
 */
public final class MemoryStore implements CounterStore {

  /** The default bound: about 100 MB of counters at worst-case key sizes. */
  public static final int DEFAULT_MAX_ENTRIES = 1_000_000;

  private final Clock clock;
  private final int maxEntries;
  private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
  private final AtomicLong lastSweepSecond = new AtomicLong(Long.MIN_VALUE);

  /** Thrown when a new counter is needed and every slot holds a live one. */
  public static final class StoreFullException extends StoreException {
    private static final long serialVersionUID = 1L;

    StoreFullException(int maxEntries) {
      super("memory store is full: " + maxEntries + " live counters");
    }
  }

  private record Counter(long expiresAtSecond, AtomicLong count) {}

  public MemoryStore(Clock clock, int maxEntries) {
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    this.maxEntries = maxEntries;
  }

  public MemoryStore(Clock clock) {
    this(clock, DEFAULT_MAX_ENTRIES);
  }

  @Override
  public long[] incrementAndGet(List<CounterKey> keys, long[] hits) {
    if (keys.size() != hits.length) {
      throw new IllegalArgumentException("keys and hits differ in length: " + keys.size() + " vs " + hits.length);
    }
    // Find or create every counter first, so a full store fails the whole request before any
    // counter of it is changed.
    Counter[] found = new Counter[keys.size()];
    for (int i = 0; i < found.length; i++) {
      found[i] = counter(keys.get(i));
    }
    long[] counts = new long[found.length];
    for (int i = 0; i < found.length; i++) {
      counts[i] = hits[i] == 0 ? found[i].count.get() : found[i].count.addAndGet(hits[i]);
    }
    return counts;
  }

  private Counter counter(CounterKey key) {
    Counter counter = counters.get(key.key());
    if (counter != null) {
      return counter;
    }
    if (counters.size() >= maxEntries) {
      sweepAtMostOncePerSecond();
      if (counters.size() >= maxEntries) {
        throw new StoreFullException(maxEntries);
      }
    }
    Counter created = new Counter(key.windowEndSeconds(), new AtomicLong());
    Counter raced = counters.putIfAbsent(key.key(), created);
    return raced == null ? created : raced;
  }

  private void sweepAtMostOncePerSecond() {
    long now = clock.now().getEpochSecond();
    long last = lastSweepSecond.get();
    if (last != now && lastSweepSecond.compareAndSet(last, now)) {
      purgeExpired();
    }
  }

  /** Removes every counter whose window has ended; returns how many. */
  public int purgeExpired() {
    long now = clock.now().getEpochSecond();
    int removed = 0;
    for (var entry : counters.entrySet()) {
      if (entry.getValue().expiresAtSecond <= now && counters.remove(entry.getKey(), entry.getValue())) {
        removed++;
      }
    }
    return removed;
  }

  /** The number of counters held, expired ones not yet swept included. */
  public int size() {
    return counters.size();
  }

  /** The bound given at construction. */
  public int maxEntries() {
    return maxEntries;
  }
}

package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Counters in this process: the store for a single instance. The arithmetic is
 * {@link Algorithms}'; this class makes each hit atomic.
 *
 * <h2>Concurrency</h2>
 * A {@link ConcurrentHashMap} from {@link StoreKeys} name to a cell; no locks of our own for
 * descriptor counters (tenant quotas take a lock per tenant, see {@link #hit(List, QuotaHit, long)}). A cell
 * is found with {@code get}, else created with {@code putIfAbsent} (the loser of a race adopts the
 * winner's). Then, per algorithm:
 * <ul>
 *   <li>fixed window: {@code addAndGet} on the window's {@link AtomicLong};
 *   <li>sliding window: read the previous window's count, then a compare-and-set loop on the
 *       current window's count that adds the hits only if they fit;
 *   <li>token bucket: a compare-and-set loop on an {@link AtomicReference} to the immutable
 *       {@link Algorithms.Bucket} state.
 * </ul>
 * Every caller of one counter goes through the same atomic, so counts are exact: concurrent
 * callers never admit more than one caller alone could. A new window is a new cell; a cell is
 * never reset in place.
 *
 * <p>Accepted races: the sweeper removes only cells whose time is over; a caller that found a
 * window's cell just before may still add to it, which is lost, but that window is over and is
 * never read again. A bucket is marked swept (by compare-and-set, only while it is still full)
 * before it is removed, and a caller that meets the mark looks it up again, so no admitted hit
 * is ever lost from a bucket. A sliding window's previous count is
 * read once: a caller whose clock still said "previous window" may add to it after the read, which
 * this caller then misses (as many hits as there are such callers, at a window's edge).
 *
 * <h2>Expiry and bound</h2>
 * A fixed window's cell expires at the window's end, a sliding window's at the end of the next
 * window (while it weighs as the previous one), a bucket when it is full again (by the injected
 * {@link Clock}). Expired cells are swept when a new cell would reach {@code maxEntries}, at most
 * once per clock second, and by {@link #purgeExpired}. If the store is still full after a sweep, a
 * request that needs a <em>new</em> cell fails with {@link StoreFullException} (the engine applies
 * its failure mode); existing cells keep counting exactly. Live cells are never evicted, since
 * that would silently reset them and admit more than the limit. Concurrent inserts may overshoot
 * {@code maxEntries} by at most the number of inserting threads.
 */
public final class MemoryStore implements CounterStore {

  /** The default bound: about 100 MB of counters at worst-case key sizes. */
  public static final int DEFAULT_MAX_ENTRIES = 1_000_000;

  /** The outcomes of no hits (an empty array: shared, nothing to modify). */
  private static final Outcome[] NO_OUTCOMES = new Outcome[0];

  private final Clock clock;
  private final int maxEntries;
  private final StoreKeys keys = new StoreKeys("");
  private final ConcurrentHashMap<String, Cell> cells = new ConcurrentHashMap<>();
  private final AtomicLong lastSweepSecond = new AtomicLong(Long.MIN_VALUE);
  /** Per tenant: all of its quota counters, behind the tenant's own lock. */
  private final ConcurrentHashMap<String, TenantCounters> quotas = new ConcurrentHashMap<>();

  /**
   * One tenant's quota counters. Every field is guarded by the object's monitor: checking every
   * limit and adding to all of them happens under it, all or nothing, like the Lua script in
   * Redis. A lock per tenant (not one for the store) serialises only requests of the same tenant,
   * and holding it costs a few map look-ups; the immutable map swapped by compare-and-set this
   * replaced copied the whole map on every request and retried under contention.
   */
  private static final class TenantCounters {
    /** By counter name ({@link QuotaCounters}); expired counters are dropped when a new one is added. */
    final HashMap<String, QuotaCount> counts = new HashMap<>();
    /** The names of the counters under the quota last used; rebuilt when the quota changes. */
    QuotaCounters.Names names;
    /**
     * Per limit of {@link #names}: the counter named {@code liveKeys[i]} (the current period's, by
     * identity: {@link QuotaCounters.Names} hands out one string per period), or null if it had
     * none; so a request of a known period needs no map look-up. A live (unexpired) counter here
     * is always the one in {@link #counts}: only expired ones are dropped from it, and a reset
     * clears this cache.
     */
    String[] liveKeys;
    QuotaCount[] live;
    /**
     * Per limit of {@link #names}: scratch for one request's usage before it and its current
     * counters' values, reused by every request (they only live under the lock, so a request of
     * a busy tenant allocates no arrays of its own).
     */
    long[] before;
    long[] current;
    /** Removed from the store by the sweeper: a caller that finds this looks the tenant up again. */
    boolean swept;
  }

  /** One quota counter's value and when it may be forgotten; guarded by its tenant's monitor. */
  private static final class QuotaCount {
    long count;
    long expiresAtMillis;

    QuotaCount(long count, long expiresAtMillis) {
      this.count = count;
      this.expiresAtMillis = expiresAtMillis;
    }
  }

  /** Thrown when a new counter is needed and every slot holds a live one. */
  public static final class StoreFullException extends StoreException {
    private static final long serialVersionUID = 1L;

    StoreFullException(int maxEntries) {
      super("memory store is full: " + maxEntries + " live counters");
    }
  }

  private sealed interface Cell {
    boolean expired(long nowMillis);
  }

  private record WindowCell(long expiresAtMillis, AtomicLong count, AtomicBoolean denied) implements Cell {
    @Override
    public boolean expired(long nowMillis) {
      return expiresAtMillis <= nowMillis;
    }
  }

  private record BucketCell(AtomicReference<Algorithms.Bucket> state) implements Cell {
    /** The state of a swept cell; a caller that finds it looks the cell up again. */
    static final Algorithms.Bucket SWEPT = new Algorithms.Bucket(Long.MIN_VALUE, 0, false, Long.MIN_VALUE);

    @Override
    public boolean expired(long nowMillis) {
      Algorithms.Bucket current = state.get();
      // Marked before it is removed, so no caller can change a bucket that is no longer in the map.
      return current == SWEPT || current.expiresAtMillis() <= nowMillis && state.compareAndSet(current, SWEPT);
    }
  }

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
  public Outcome[] hit(List<Hit> hits, long nowMillis) {
    // Find or create every cell first, so a full store fails the whole request before any
    // counter of it is changed.
    Cell[] found = new Cell[hits.size()];
    for (int i = 0; i < found.length; i++) {
      found[i] = cell(hits.get(i), nowMillis);
    }
    Outcome[] outcomes = new Outcome[found.length];
    for (int i = 0; i < found.length; i++) {
      Hit hit = hits.get(i);
      outcomes[i] = switch (hit.algorithm()) {
        case FIXED_WINDOW -> fixed((WindowCell) found[i], hit, nowMillis);
        case SLIDING_WINDOW -> sliding((WindowCell) found[i], hit, nowMillis);
        case TOKEN_BUCKET -> bucket((BucketCell) found[i], hit, nowMillis);
      };
    }
    return outcomes;
  }

  /**
   * Tenant quotas: all counters of one tenant live in one {@link TenantCounters}, and the check of
   * every limit and the increments happen under its lock, so a hard limit is never exceeded
   * however many threads count the tenant. Expired counters are dropped when a new period's
   * counter is added, and tenants whose counters all expired by {@link #purgeExpired}. Tenants
   * count against {@code maxEntries} like counters.
   */
  @Override
  public Answer hit(List<Hit> hits, QuotaHit quota, long nowMillis) {
    if (quota == null) {
      return new Answer(hit(hits, nowMillis), null);
    }
    TenantCounters tenant = quotas.get(quota.tenant());
    if (tenant == null) {
      if (cells.size() + quotas.size() >= maxEntries) {
        sweepAtMostOncePerSecond();
        if (cells.size() + quotas.size() >= maxEntries) {
          throw new StoreFullException(maxEntries);
        }
      }
      tenant = quotas.computeIfAbsent(quota.tenant(), t -> new TenantCounters());
    }
    Outcome[] outcomes = hits.isEmpty() ? NO_OUTCOMES : hit(hits, nowMillis);
    while (true) {
      synchronized (tenant) {
        if (!tenant.swept) {
          return new Answer(outcomes, count(tenant, quota, nowMillis));
        }
      }
      // Swept between the look-up and the lock: its counters were all over, and a new tenant's are too.
      quotas.remove(quota.tenant(), tenant);
      tenant = quotas.computeIfAbsent(quota.tenant(), t -> new TenantCounters());
    }
  }

  /**
   * Checks every limit, then counts all of them or none; the caller holds {@code tenant}'s lock.
   * The work of a new quota or a new period is in methods of its own, so that this one, run for
   * every request, stays small enough for the JIT to inline into its caller.
   */
  private static QuotaOutcome count(TenantCounters tenant, QuotaHit quota, long nowMillis) {
    QuotaCounters.Names names = tenant.names;
    if (names == null || !names.of(quota.tenant(), quota.quota())) {
      names = renamed(tenant, quota);
    }
    QuotaCounters.Slot[] slots = names.slots(nowMillis, 0);
    long[] before = tenant.before;
    long[] current = tenant.current;
    for (int i = 0; i < slots.length; i++) {
      String[] keys = slots[i].keys();
      if (tenant.liveKeys[i] != keys[0]) {
        tenant.liveKeys[i] = keys[0];
        tenant.live[i] = tenant.counts.get(keys[0]);
      }
      current[i] = value(tenant.live[i], nowMillis);
      before[i] = keys.length > 1
          ? QuotaCounters.usage(slots[i], current[i], value(tenant.counts.get(keys[1]), nowMillis))
          : current[i];
    }
    long hits = quota.hits();
    boolean admitted = QuotaCounters.admits(slots, before, hits);
    if (admitted && hits > 0) {
      for (int i = 0; i < slots.length; i++) {
        long expiresAt = nowMillis + slots[i].ttlMillis();
        QuotaCount count = tenant.live[i];
        if (count == null || count.expiresAtMillis <= nowMillis) {
          count = periodCount(tenant, i, nowMillis, expiresAt);
        }
        count.count = current[i] + hits; // current[i] is 0 if it had expired
        count.expiresAtMillis = expiresAt;
      }
    }
    return QuotaCounters.outcome(slots, hits, admitted, before, current);
  }

  /** The tenant's first request under this quota (or a changed one): new names, new per-limit caches. */
  private static QuotaCounters.Names renamed(TenantCounters tenant, QuotaHit quota) {
    QuotaCounters.Names names = new QuotaCounters.Names("", quota.tenant(), quota.quota());
    int n = quota.quota().limits().size();
    tenant.names = names;
    tenant.liveKeys = new String[n];
    tenant.live = new QuotaCount[n];
    tenant.before = new long[n];
    tenant.current = new long[n];
    return names;
  }

  /**
   * The counter of limit {@code i}'s current period when the cached one is missing or expired
   * (not counted yet in this period, or a clock set back): the map decides, and a new period's
   * counter is created, which is the time to forget the ones that are over.
   */
  private static QuotaCount periodCount(TenantCounters tenant, int i, long nowMillis, long expiresAt) {
    QuotaCount count = tenant.counts.get(tenant.liveKeys[i]);
    if (count == null) {
      tenant.counts.values().removeIf(c -> c.expiresAtMillis <= nowMillis);
      count = new QuotaCount(0, expiresAt);
      tenant.counts.put(tenant.liveKeys[i], count);
    }
    tenant.live[i] = count;
    return count;
  }

  @Override
  public void resetQuota(QuotaHit quota, long nowMillis) {
    TenantCounters tenant = quotas.get(quota.tenant());
    if (tenant == null) {
      return;
    }
    QuotaCounters.Slot[] slots = QuotaCounters.slots("", quota, nowMillis, 0);
    synchronized (tenant) {
      if (tenant.swept) {
        return; // nothing live to reset
      }
      for (QuotaCounters.Slot slot : slots) {
        for (String key : slot.keys()) {
          tenant.counts.remove(key);
        }
      }
      if (tenant.liveKeys != null) {
        Arrays.fill(tenant.liveKeys, null);
        Arrays.fill(tenant.live, null);
      }
    }
  }

  private static long value(QuotaCount count, long nowMillis) {
    return count == null || count.expiresAtMillis <= nowMillis ? 0 : count.count;
  }

  private static Outcome fixed(WindowCell cell, Hit hit, long nowMillis) {
    long count = hit.hits() == 0 ? cell.count.get() : cell.count.addAndGet(hit.hits());
    return Algorithms.fixed(count, hit.hits(), hit.limit(), nowMillis, hit.windowSeconds());
  }

  private Outcome sliding(WindowCell current, Hit hit, long nowMillis) {
    long window = hit.windowSeconds();
    long start = Algorithms.windowStartSeconds(nowMillis, window);
    long windowMillis = window * 1000;
    long elapsed = nowMillis - start * 1000;
    Cell before = cells.get(keys.sliding(hit.counter(), window, start - window));
    long previous = before instanceof WindowCell w ? w.count.get() : 0;
    while (true) {
      long count = current.count.get();
      if (!Algorithms.slidingAdmits(previous, count, hit.hits(), hit.limit(), elapsed, windowMillis)) {
        boolean first = hit.hits() > 0 && current.denied.compareAndSet(false, true);
        return Algorithms.sliding(previous, count, hit.hits(), false, first, hit.limit(), elapsed, windowMillis);
      }
      if (current.count.compareAndSet(count, count + hit.hits())) {
        return Algorithms.sliding(previous, count, hit.hits(), true, false, hit.limit(), elapsed, windowMillis);
      }
    }
  }

  private Outcome bucket(BucketCell found, Hit hit, long nowMillis) {
    BucketCell cell = found;
    while (true) {
      Algorithms.Bucket state = cell.state.get();
      if (state == BucketCell.SWEPT) {
        // Swept between the lookup and now: it was full, and a new cell is too. Removing it here
        // (the sweeper may not have yet) keeps this loop from finding it again.
        cells.remove(keys.bucket(hit.counter(), hit.limit(), hit.windowSeconds()), cell);
        cell = (BucketCell) cell(hit, nowMillis);
        continue;
      }
      Algorithms.BucketResult result = Algorithms.bucket(state, hit.hits(), hit.limit(), hit.burst(),
          hit.windowSeconds() * 1000, nowMillis);
      if (result.next() == state || cell.state.compareAndSet(state, result.next())) {
        return result.outcome();
      }
    }
  }

  private Cell cell(Hit hit, long nowMillis) {
    long window = hit.windowSeconds();
    String key;
    long expiresAt;
    switch (hit.algorithm()) {
      case FIXED_WINDOW -> {
        long start = Algorithms.windowStartSeconds(nowMillis, window);
        key = keys.fixed(hit.counter(), window, start);
        expiresAt = (start + window) * 1000;
      }
      case SLIDING_WINDOW -> {
        long start = Algorithms.windowStartSeconds(nowMillis, window);
        key = keys.sliding(hit.counter(), window, start);
        expiresAt = (start + 2 * window) * 1000;
      }
      case TOKEN_BUCKET -> {
        key = keys.bucket(hit.counter(), hit.limit(), window);
        expiresAt = Long.MIN_VALUE;
      }
      default -> throw new IllegalStateException("unknown algorithm " + hit.algorithm());
    }
    Cell cell = cells.get(key);
    if (cell != null) {
      return cell;
    }
    if (cells.size() >= maxEntries) {
      sweepAtMostOncePerSecond();
      if (cells.size() >= maxEntries) {
        throw new StoreFullException(maxEntries);
      }
    }
    Cell created = hit.algorithm() == Algorithm.TOKEN_BUCKET
        ? new BucketCell(new AtomicReference<>(Algorithms.Bucket.EMPTY))
        : new WindowCell(expiresAt, new AtomicLong(), new AtomicBoolean());
    Cell raced = cells.putIfAbsent(key, created);
    return raced == null ? created : raced;
  }

  private void sweepAtMostOncePerSecond() {
    long now = Math.floorDiv(clock.millis(), 1000);
    long last = lastSweepSecond.get();
    if (last != now && lastSweepSecond.compareAndSet(last, now)) {
      purgeExpired();
    }
  }

  /** Removes every counter whose time is over; returns how many. */
  public int purgeExpired() {
    long now = clock.millis();
    int removed = 0;
    for (var entry : cells.entrySet()) {
      if (entry.getValue().expired(now) && cells.remove(entry.getKey(), entry.getValue())) {
        removed++;
      }
    }
    for (var entry : quotas.entrySet()) {
      TenantCounters tenant = entry.getValue();
      boolean sweep;
      synchronized (tenant) {
        // Marked under its lock before it is removed (as buckets are), so no request counts on a removed tenant.
        sweep = !tenant.swept && tenant.counts.values().stream().allMatch(c -> c.expiresAtMillis <= now);
        tenant.swept |= sweep;
      }
      if (sweep && quotas.remove(entry.getKey(), tenant)) {
        removed++;
      }
    }
    return removed;
  }

  /** The number of counters held, expired ones not yet swept included. */
  public int size() {
    return cells.size();
  }

  /** The bound given at construction. */
  public int maxEntries() {
    return maxEntries;
  }
}

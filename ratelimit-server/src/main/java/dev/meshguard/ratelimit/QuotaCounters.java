package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stored counters of a {@link QuotaHit} and the arithmetic on them, shared by
 * {@link MemoryStore} and mirrored by {@code quota.lua} for {@link RedisStore}.
 *
 * <h2>Names</h2>
 * <pre>
 *   PREFIX{q:LEN:TENANT}LEN:NAME:PERIOD:START
 * </pre>
 * where PERIOD is {@link QuotaPeriod#describe()} (with {@code @ZONE} for calendar periods) and
 * START the period's or window's start in Unix seconds. The hash tag {@code {q:...}} puts every
 * counter of one tenant in one Redis Cluster slot, so one script sees them all; names, periods and
 * zones are part of the name, so changing a limit's period or zone starts a new counter.
 *
 * <h2>Decision (all or nothing)</h2>
 * Each limit's usage before the request is read: a period's count (calendar or fixed window), or a
 * sliding window's weighted estimate ({@link Algorithms#weighted} of the previous window plus the
 * current one). If the request has hits and any {@link QuotaLimit#hard() hard} limit's usage plus
 * the hits exceeds its amount, nothing is counted; otherwise the hits are added to every limit,
 * soft ones included (going over a soft limit is allowed and reported).
 */
final class QuotaCounters {

  /** How one limit is counted. */
  enum Kind {
    /** One counter for the period [start, end): calendar periods and fixed windows. */
    PERIOD,
    /** The current window's counter and the previous one's, weighted. */
    SLIDING
  }

  /**
   * One limit's counters at one instant.
   *
   * @param keys PERIOD: the period's counter; SLIDING: the current window's, then the previous one's
   *     (shared with other slots of the same period: read only)
   * @param ttlMillis how long a counter written now must live (until the period ends, or for a
   *     sliding window while it still weighs), jitter included
   * @param windowMillis SLIDING: the window; PERIOD: 0
   * @param elapsedMillis SLIDING: time since the current window started; PERIOD: 0
   * @param resetEmptyMillis the reset when the current counter holds nothing after this request
   * @param resetUsedMillis the reset when it holds something
   */
  record Slot(QuotaLimit limit, Kind kind, String[] keys, long ttlMillis, long windowMillis, long elapsedMillis,
      long resetEmptyMillis, long resetUsedMillis) {}

  private QuotaCounters() {}

  /** The slots of {@code hit} at {@code nowMillis}, names built afresh (off the request path: resets, failures). */
  static Slot[] slots(String prefix, QuotaHit hit, long nowMillis, long jitterMillis) {
    return new Names(prefix, hit.tenant(), hit.quota()).slots(nowMillis, jitterMillis);
  }

  /**
   * The counter names of one tenant under one quota, built once and then reused for every request
   * of the same period: the request path does no string building, and each name's hash code is
   * computed once. Per limit it keeps the stem (everything but the start) and the last period it
   * named; a request in a later period names the new one and replaces it.
   *
   * <p>Thread-safe: the per-period cache is an array of immutable {@link Period}s, and the last
   * millisecond's slots one immutable value, written without a lock. Accepted race: two threads
   * entering a new period (or millisecond) may both build its names or slots (equal ones); either
   * is kept, and both are right.
   */
  static final class Names {
    private final String tenant;
    private final TenantQuota quota;
    private final String[] stems;
    /** Per limit: its calendar unit, or null for a window (decided once here, not per request). */
    private final CalendarUnit[] units;
    /** Per limit: its window in seconds (windows only). */
    private final long[] windowSeconds;
    /** Per limit: a sliding window. */
    private final boolean[] sliding;
    private final Period[] periods;
    /** The slots last computed: a busy tenant's requests of the same millisecond share them. */
    private Computed last;

    /** Slots computed for one instant and jitter; the array is never modified once published. */
    private record Computed(long nowMillis, long jitterMillis, Slot[] slots) {}

    /**
     * One limit's period: {@code [startMillis, endMillis)} and its counters' names (the previous
     * window's second for a sliding window); shared, never modified.
     */
    private record Period(long startMillis, long endMillis, String[] keys) {}

    Names(String prefix, String tenant, TenantQuota quota) {
      this.tenant = Objects.requireNonNull(tenant, "tenant");
      this.quota = Objects.requireNonNull(quota, "quota");
      List<QuotaLimit> limits = quota.limits();
      this.stems = new String[limits.size()];
      this.periods = new Period[limits.size()];
      this.units = new CalendarUnit[limits.size()];
      this.windowSeconds = new long[limits.size()];
      this.sliding = new boolean[limits.size()];
      String base = prefix + "{q:" + tenant.length() + ":" + tenant + "}";
      for (int i = 0; i < stems.length; i++) {
        QuotaLimit limit = limits.get(i);
        String named = base + limit.name().length() + ":" + limit.name() + ":";
        stems[i] = switch (limit.period()) {
          case QuotaPeriod.Calendar calendar -> {
            units[i] = calendar.unit();
            yield named + calendar.describe() + "@" + quota.zone().getId() + ":";
          }
          case QuotaPeriod.Window window -> {
            windowSeconds[i] = window.windowSeconds();
            sliding[i] = window.algorithm() == Algorithm.SLIDING_WINDOW;
            yield named + window.describe() + ":";
          }
        };
      }
    }

    /** Whether these are the names of {@code tenant} under this very quota (not an equal one: a change rebuilds). */
    boolean of(String tenant, TenantQuota quota) {
      return this.quota == quota && this.tenant.equals(tenant);
    }

    /**
     * Every limit's counters at {@code nowMillis}; see {@link Slot}. The array and the slots' key
     * arrays are shared with other callers: read only.
     */
    Slot[] slots(long nowMillis, long jitterMillis) {
      // A plain field: a stale or missing value only costs a recomputation, and Computed is immutable.
      Computed computed = last;
      if (computed != null && computed.nowMillis() == nowMillis && computed.jitterMillis() == jitterMillis) {
        return computed.slots();
      }
      Slot[] slots = compute(nowMillis, jitterMillis);
      last = new Computed(nowMillis, jitterMillis, slots);
      return slots;
    }

    private Slot[] compute(long nowMillis, long jitterMillis) {
      List<QuotaLimit> limits = quota.limits();
      Slot[] slots = new Slot[stems.length];
      for (int i = 0; i < slots.length; i++) {
        QuotaLimit limit = limits.get(i);
        Period period = periods[i];
        if (units[i] != null) {
          if (period == null || nowMillis < period.startMillis() || nowMillis >= period.endMillis()) {
            CalendarUnit.Bounds bounds = units[i].bounds(nowMillis, quota.zone());
            period = new Period(bounds.startMillis(), bounds.endMillis(),
                new String[] {stems[i] + Math.floorDiv(bounds.startMillis(), 1000)});
            periods[i] = period;
          }
          long left = period.endMillis() - nowMillis;
          slots[i] = new Slot(limit, Kind.PERIOD, period.keys(), left + jitterMillis, 0, 0, left, left);
          continue;
        }
        long w = windowSeconds[i];
        long start = Algorithms.windowStartSeconds(nowMillis, w);
        long windowMillis = w * 1000;
        if (period == null || period.startMillis() != start * 1000) {
          period = new Period(start * 1000, (start + w) * 1000, sliding[i]
              ? new String[] {stems[i] + start, stems[i] + (start - w)}
              : new String[] {stems[i] + start});
          periods[i] = period;
        }
        long elapsed = nowMillis - start * 1000;
        slots[i] = sliding[i]
            ? new Slot(limit, Kind.SLIDING, period.keys(), 2 * windowMillis - elapsed + jitterMillis, windowMillis,
                elapsed, windowMillis - elapsed, 2 * windowMillis - elapsed)
            : new Slot(limit, Kind.PERIOD, period.keys(), windowMillis - elapsed + jitterMillis, 0, 0,
                windowMillis - elapsed, windowMillis - elapsed);
      }
      return slots;
    }
  }

  /**
   * The {@link Names} of recent tenants, for a store without a per-tenant object of its own
   * ({@link RedisStore}). Bounded: when it holds {@code maxTenants}, it is emptied and refills
   * with the tenants that come next (the default quota applies to any tenant value, so the set is
   * open); a name is cheap to rebuild, so a crude bound beats an LRU's bookkeeping per request.
   */
  static final class NameCache {
    private final String prefix;
    private final int maxTenants;
    private final ConcurrentHashMap<String, Names> byTenant = new ConcurrentHashMap<>();

    NameCache(String prefix, int maxTenants) {
      this.prefix = Objects.requireNonNull(prefix, "prefix");
      if (maxTenants <= 0) {
        throw new IllegalArgumentException("maxTenants must be positive: " + maxTenants);
      }
      this.maxTenants = maxTenants;
    }

    Names of(QuotaHit hit) {
      Names names = byTenant.get(hit.tenant());
      if (names != null && names.of(hit.tenant(), hit.quota())) {
        return names;
      }
      names = new Names(prefix, hit.tenant(), hit.quota());
      if (byTenant.size() >= maxTenants) {
        byTenant.clear();
      }
      byTenant.put(hit.tenant(), names);
      return names;
    }

    int size() {
      return byTenant.size();
    }
  }

  /** A limit's usage before the request, from its counters' values (missing ones are 0). */
  static long usage(Slot slot, long current, long previous) {
    return slot.kind() == Kind.PERIOD ? current
        : Algorithms.weighted(previous, slot.elapsedMillis(), slot.windowMillis()) + current;
  }

  /** Whether the request is admitted: it reads only, or fits every hard limit. */
  static boolean admits(Slot[] slots, long[] before, long hits) {
    if (hits == 0) {
      return true;
    }
    for (int i = 0; i < slots.length; i++) {
      if (slots[i].limit().hard() && before[i] + hits > slots[i].limit().amount()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The outcome from each limit's usage before the request and its current counter before it.
   */
  static QuotaOutcome outcome(Slot[] slots, long hits, boolean admitted, long[] before, long[] current) {
    Objects.requireNonNull(slots, "slots");
    boolean counted = admitted && hits > 0;
    // Quotas of one or two limits (the common ones) skip the array: List.of(a) and List.of(a, b)
    // hold their elements in fields. Either way QuotaOutcome's List.copyOf keeps the list as it is.
    return new QuotaOutcome(admitted, switch (slots.length) {
      case 1 -> List.of(usage(slots, 0, hits, counted, before, current));
      case 2 -> List.of(usage(slots, 0, hits, counted, before, current), usage(slots, 1, hits, counted, before, current));
      default -> {
        QuotaOutcome.LimitUsage[] usages = new QuotaOutcome.LimitUsage[slots.length];
        for (int i = 0; i < slots.length; i++) {
          usages[i] = usage(slots, i, hits, counted, before, current);
        }
        yield List.of(usages);
      }
    });
  }

  private static QuotaOutcome.LimitUsage usage(Slot[] slots, int i, long hits, boolean counted, long[] before,
      long[] current) {
    long after = counted ? current[i] + hits : current[i];
    long reset = after > 0 ? slots[i].resetUsedMillis() : slots[i].resetEmptyMillis();
    return new QuotaOutcome.LimitUsage(slots[i].limit(), before[i], hits, counted, reset);
  }
}

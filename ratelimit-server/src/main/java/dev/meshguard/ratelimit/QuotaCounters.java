package dev.meshguard.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

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

  static Slot[] slots(String prefix, QuotaHit hit, long nowMillis, long jitterMillis) {
    List<QuotaLimit> limits = hit.quota().limits();
    Slot[] slots = new Slot[limits.size()];
    String base = prefix + "{q:" + hit.tenant().length() + ":" + hit.tenant() + "}";
    for (int i = 0; i < slots.length; i++) {
      QuotaLimit limit = limits.get(i);
      String named = base + limit.name().length() + ":" + limit.name() + ":";
      slots[i] = switch (limit.period()) {
        case QuotaPeriod.Calendar calendar -> {
          CalendarUnit.Bounds period = calendar.unit().bounds(nowMillis, hit.quota().zone());
          long start = period.startMillis();
          long end = period.endMillis();
          String key = named + calendar.describe() + "@" + hit.quota().zone().getId() + ":"
              + Math.floorDiv(start, 1000);
          yield new Slot(limit, Kind.PERIOD, new String[] {key}, end - nowMillis + jitterMillis, 0, 0,
              end - nowMillis, end - nowMillis);
        }
        case QuotaPeriod.Window window -> {
          long w = window.windowSeconds();
          long start = Algorithms.windowStartSeconds(nowMillis, w);
          long windowMillis = w * 1000;
          long elapsed = nowMillis - start * 1000;
          String tag = named + window.describe() + ":";
          if (window.algorithm() == Algorithm.SLIDING_WINDOW) {
            yield new Slot(limit, Kind.SLIDING, new String[] {tag + start, tag + (start - w)},
                2 * windowMillis - elapsed + jitterMillis, windowMillis, elapsed, windowMillis - elapsed,
                2 * windowMillis - elapsed);
          }
          yield new Slot(limit, Kind.PERIOD, new String[] {tag + start}, windowMillis - elapsed + jitterMillis, 0, 0,
              windowMillis - elapsed, windowMillis - elapsed);
        }
      };
    }
    return slots;
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
    List<QuotaOutcome.LimitUsage> usages = new ArrayList<>(slots.length);
    boolean counted = admitted && hits > 0;
    for (int i = 0; i < slots.length; i++) {
      long after = counted ? current[i] + hits : current[i];
      long reset = after > 0 ? slots[i].resetUsedMillis() : slots[i].resetEmptyMillis();
      usages.add(new QuotaOutcome.LimitUsage(slots[i].limit(), before[i], hits, counted, reset));
    }
    return new QuotaOutcome(admitted, usages);
  }
}

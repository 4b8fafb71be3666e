package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import io.lettuce.core.ScriptOutputType;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tenants that asked for quota (every tenant a request named, whether it has a quota of its own
 * or runs on the default one), so that "tenants above 80%" can find tenants the quota store does
 * not know by name. Kept beside the counters, not in them: the request path only adds a name to a
 * set after its response is sent, and nothing here touches the counting scripts.
 *
 * <ul>
 *   <li>{@link #seen} (request threads, after the response): adds the tenant to a set of names
 *       not yet shared, bounded by {@link #MAX_PENDING};
 *   <li>{@link #flush} (the server's quota poll): stamps them with the poll's time; with Redis also
 *       {@code ZADD}s them to the sorted set {@code PREFIX{mgq}tenants} (score: Unix seconds last
 *       seen, the hash tag of the quota definitions, so one slot on a cluster), which every replica
 *       shares and which survives restarts; names unseen for {@link #RETENTION} are trimmed;
 *   <li>{@link #tenants} (the admin API): the names seen within {@link #RETENTION}, from Redis (one
 *       {@code ZRANGEBYSCORE}, no {@code KEYS} scan) and from this replica.
 * </ul>
 *
 * <p>A tenant seen by another replica is listed after that replica's next poll
 * ({@code ratelimit.quota.refresh_interval}). Names beyond {@link #MAX_TRACKED} on one replica are
 * not remembered locally (Redis keeps them all).
 */
final class TenantIndex {
  private static final System.Logger LOG = System.getLogger(TenantIndex.class.getName());
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  /**
   * How long a tenant stays listed after its last request: by then its usage of every limit is 0.
   * The longest period is a calendar year (366 days) or the longest window
   * ({@link QuotaPeriod.Window#MAX_SECONDS}, about four years), which a sliding window weighs for
   * twice its length; plus a day. In practice names are not forgotten, which is the point: a
   * tenant with usage is never missed.
   */
  static final Duration RETENTION = Duration.ofSeconds(Math.max(Duration.ofDays(366).toSeconds(),
      2 * QuotaPeriod.Window.MAX_SECONDS)).plusDays(1);
  /** Names awaiting the next poll; beyond, a request's tenant waits for a later request to be noted. */
  static final int MAX_PENDING = 100_000;
  /** Names this replica remembers with their last-seen time. */
  static final int MAX_TRACKED = 100_000;

  /** KEYS: the set. ARGV: now (seconds), trim-before (seconds), tenants. */
  private static final String ADD = """
      for i = 3, #ARGV do
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
      end
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
      return 'ok'
      """;

  /** KEYS: the set. ARGV: since (seconds). */
  private static final String RANGE = "return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')";

  private final RedisStore redis; // null: this process only
  private final String[] keys;
  private final Clock clock;
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> lastSeen = new ConcurrentHashMap<>(); // seconds

  /** @param redis where the index is shared; null to keep it in this process (the memory store) */
  TenantIndex(RedisStore redis, Clock clock) {
    this.redis = redis;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.keys = redis == null ? null : new String[] {redis.keyPrefix() + "{mgq}tenants"};
  }

  /** Notes that {@code tenant} asked; cheap, never blocks, never throws. */
  void seen(String tenant) {
    // Accepted race: concurrent adds may overshoot MAX_PENDING by the number of request threads.
    if (!pending.contains(tenant) && pending.size() < MAX_PENDING) {
      pending.add(tenant);
    }
  }

  /**
   * Stamps and shares the tenants seen since the last flush, and forgets those unseen for
   * {@link #RETENTION}. On a Redis failure the names stay pending for the next poll.
   */
  void flush() {
    long now = Math.floorDiv(clock.millis(), 1000);
    long before = now - RETENTION.toSeconds();
    List<String> names = new ArrayList<>(pending);
    if (redis != null && !names.isEmpty()) {
      List<String> args = new ArrayList<>(names.size() + 2);
      args.add(Long.toString(now));
      args.add(Long.toString(before));
      args.addAll(names);
      try {
        redis.eval(ADD, ScriptOutputType.STATUS, TIMEOUT, keys, args.toArray(String[]::new));
      } catch (StoreException e) {
        LOG.log(Level.WARNING, "tenant index not shared (retrying at the next poll): {0}", e.getMessage());
        return;
      }
    }
    names.forEach(pending::remove);
    for (String name : names) {
      if (lastSeen.size() < MAX_TRACKED || lastSeen.containsKey(name)) {
        lastSeen.put(name, now);
      }
    }
    lastSeen.values().removeIf(seconds -> seconds < before);
  }

  /**
   * The tenants seen within {@link #RETENTION}, sorted: every replica's (as of their last poll)
   * with Redis, and this replica's own, not yet flushed ones.
   *
   * @throws StoreException when Redis cannot answer
   */
  Set<String> tenants() {
    long since = Math.floorDiv(clock.millis(), 1000) - RETENTION.toSeconds();
    Set<String> all = new TreeSet<>(pending);
    lastSeen.forEach((name, seconds) -> {
      if (seconds >= since) {
        all.add(name);
      }
    });
    if (redis != null) {
      for (Object name : (List<?>) redis.eval(RANGE, ScriptOutputType.MULTI, TIMEOUT, keys, Long.toString(since))) {
        all.add(String.valueOf(name));
      }
    }
    return all;
  }
}

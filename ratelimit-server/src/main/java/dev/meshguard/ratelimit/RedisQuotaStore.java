package dev.meshguard.ratelimit;

import io.lettuce.core.ScriptOutputType;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Quotas in Redis, shared by every replica on the same Redis: a hash {@code PREFIX{mgq}quotas}
 * (field: tenant, value: {@link QuotaJson}) and a revision counter {@code PREFIX{mgq}quotas:rev}
 * that every change increments in the same script. Each replica keeps the last snapshot it read;
 * {@link #refresh()} (called on a schedule by the server) reads the revision, and the whole hash
 * only when the revision moved. Both keys share a hash tag, so the scripts work on Redis Cluster.
 *
 * <p>Writes go through {@link RedisStore}'s connection with the store's timeouts, off the request
 * path: a write that fails throws {@link StoreException}. A hash value that does not parse (a
 * newer meshguard's format, a hand edit) is skipped with a warning rather than failing every
 * quota.
 */
public final class RedisQuotaStore implements QuotaStore {

  private static final System.Logger LOG = System.getLogger(RedisQuotaStore.class.getName());
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  /** KEYS: hash, rev. ARGV: tenant, json, force (1|0). Returns {status, previous json or ''}. */
  private static final String PUT = """
      local old = redis.call('HGET', KEYS[1], ARGV[1])
      if old and ARGV[3] == '0' and string.find(old, '"managed_by":"yaml"', 1, true) then
        return {'managed', old}
      end
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
      redis.call('INCR', KEYS[2])
      return {'ok', old or ''}
      """;

  /** KEYS: hash, rev. ARGV: tenant, force (1|0). */
  private static final String DELETE = """
      local old = redis.call('HGET', KEYS[1], ARGV[1])
      if not old then
        return {'ok', ''}
      end
      if ARGV[2] == '0' and string.find(old, '"managed_by":"yaml"', 1, true) then
        return {'managed', old}
      end
      redis.call('HDEL', KEYS[1], ARGV[1])
      redis.call('INCR', KEYS[2])
      return {'ok', old}
      """;

  /** KEYS: hash, rev. ARGV: number of writes, then tenant, json per write, then tenants to delete. */
  private static final String IMPORT = """
      local writes = tonumber(ARGV[1])
      local a = 2
      for i = 1, writes do
        redis.call('HSET', KEYS[1], ARGV[a], ARGV[a + 1])
        a = a + 2
      end
      while a <= #ARGV do
        redis.call('HDEL', KEYS[1], ARGV[a])
        a = a + 1
      end
      if #ARGV > 1 then
        redis.call('INCR', KEYS[2])
      end
      return 'ok'
      """;

  /** KEYS: hash, rev. Returns {rev, field, value, field, value, ...}. */
  private static final String READ = """
      local out = {redis.call('GET', KEYS[2]) or '0'}
      local all = redis.call('HGETALL', KEYS[1])
      for i = 1, #all do
        out[#out + 1] = all[i]
      end
      return out
      """;

  private final RedisStore redis;
  private final String[] keys;
  private final AtomicReference<QuotaSnapshot> current = new AtomicReference<>(QuotaSnapshot.EMPTY);
  private volatile String seenRevision = "";

  /** @param redis the connection to use (not owned: closing this store leaves it open) */
  public RedisQuotaStore(RedisStore redis) {
    this.redis = Objects.requireNonNull(redis, "redis");
    String prefix = redis.keyPrefix() + "{mgq}quotas";
    this.keys = new String[] {prefix, prefix + ":rev"};
  }

  @Override
  public QuotaSnapshot snapshot() {
    return current.get();
  }

  @Override
  public synchronized TenantQuota put(TenantQuota quota, boolean force) throws QuotaManagedException {
    Objects.requireNonNull(quota, "quota");
    List<?> answer = (List<?>) redis.eval(PUT, ScriptOutputType.MULTI, TIMEOUT, keys, quota.tenant(),
        QuotaJson.write(quota), force ? "1" : "0");
    if ("managed".equals(answer.get(0))) {
      throw new QuotaManagedException(quota.tenant());
    }
    refresh();
    return previous(answer.get(1));
  }

  @Override
  public synchronized TenantQuota delete(String tenant, boolean force) throws QuotaManagedException {
    Objects.requireNonNull(tenant, "tenant");
    List<?> answer = (List<?>) redis.eval(DELETE, ScriptOutputType.MULTI, TIMEOUT, keys, tenant, force ? "1" : "0");
    if ("managed".equals(answer.get(0))) {
      throw new QuotaManagedException(tenant);
    }
    refresh();
    return previous(answer.get(1));
  }

  @Override
  public synchronized ImportResult importYaml(List<TenantQuota> declared) {
    refresh();
    QuotaImports.Plan plan = QuotaImports.plan(current.get().byTenant(), declared);
    List<String> args = new ArrayList<>();
    args.add(Integer.toString(plan.writes().size()));
    plan.writes().values().stream().sorted(java.util.Comparator.comparing(TenantQuota::tenant)).forEach(q -> {
      args.add(q.tenant());
      args.add(QuotaJson.write(q));
    });
    args.addAll(plan.deletes());
    if (args.size() > 1) {
      redis.eval(IMPORT, ScriptOutputType.STATUS, TIMEOUT, keys, args.toArray(String[]::new));
      refresh();
    }
    return plan.result();
  }

  /**
   * Reads the quotas again when their revision moved. One script reads the revision and the hash
   * together, so a snapshot is never half of one change.
   */
  @Override
  public synchronized void refresh() {
    String revision = String.valueOf(redis.eval("return redis.call('GET', KEYS[2]) or '0'", ScriptOutputType.VALUE,
        TIMEOUT, keys));
    if (revision.equals(seenRevision)) {
      return;
    }
    List<?> all = (List<?>) redis.eval(READ, ScriptOutputType.MULTI, TIMEOUT, keys);
    Map<String, TenantQuota> byTenant = new HashMap<>();
    for (int i = 1; i + 1 < all.size(); i += 2) {
      String tenant = String.valueOf(all.get(i));
      try {
        TenantQuota quota = QuotaJson.read(String.valueOf(all.get(i + 1)));
        if (quota.tenant().equals(tenant)) {
          byTenant.put(tenant, quota);
        } else {
          LOG.log(Level.WARNING, "quota store: field {0} holds the quota of {1}; skipped", tenant, quota.tenant());
        }
      } catch (IllegalArgumentException e) {
        LOG.log(Level.WARNING, "quota store: the quota of {0} cannot be read; skipped: {1}", tenant, e.getMessage());
      }
    }
    current.set(new QuotaSnapshot(byTenant));
    seenRevision = String.valueOf(all.get(0));
  }

  private static TenantQuota previous(Object json) {
    String text = String.valueOf(json);
    return text.isEmpty() ? null : QuotaJson.read(text);
  }
}

package dev.meshguard.ratelimit;

import java.util.List;

/**
 * Where counters live, and where the algorithms run: {@link MemoryStore} in this process,
 * {@link RedisStore} in Redis. One call carries every counter of one request, so a remote store
 * can answer in one round trip.
 *
 * <p>Every implementation gives the same {@link Outcome} for the same sequence of calls; the
 * meaning of each algorithm is documented on {@link Algorithm}.
 */
public interface CounterStore extends AutoCloseable {

  /**
   * Counts {@code hits}, in list order, each atomically, and returns one outcome per hit. A
   * counter may appear twice; its second hit then sees the first. A hit of 0 reads without
   * changing anything.
   *
   * @param nowMillis the time of the request, Unix milliseconds (the engine's clock)
   * @throws StoreException when the store cannot answer; the engine then applies its failure mode.
   *     The store may have counted some of the hits.
   */
  Outcome[] hit(List<Hit> hits, long nowMillis);

  /**
   * What one store call decided: the outcomes of the descriptor hits and of the tenant quota.
   *
   * @param outcomes one per hit, in order
   * @param quota the quota's outcome, or null when the call had no quota
   */
  record Answer(Outcome[] outcomes, QuotaOutcome quota) {}

  /**
   * Counts {@code hits} as {@link #hit(List, long)} does and, in the same call (for Redis: sent
   * together, one round trip), checks and counts {@code quota}: every counter of the tenant's
   * quota atomically, all or nothing, as {@link QuotaCounters} describes. The two parts are
   * independent: descriptor hits are counted whatever the quota answers, and the quota whatever
   * the descriptor limits answer.
   *
   * @param quota the tenant quota to check, or null for none
   * @throws StoreException as {@link #hit(List, long)}; either part may have been counted
   */
  default Answer hit(List<Hit> hits, QuotaHit quota, long nowMillis) {
    if (quota != null) {
      throw new StoreException(this + " does not count tenant quotas");
    }
    return new Answer(hit(hits, nowMillis), null);
  }

  /**
   * Sets the usage of every limit of {@code quota} back to 0 for the current periods (the admin
   * API's reset): the counters a request at {@code nowMillis} would use are deleted.
   *
   * @param quota the tenant and its quota; its hits are ignored
   * @throws StoreException when the store cannot answer, or does not count quotas
   */
  default void resetQuota(QuotaHit quota, long nowMillis) {
    throw new StoreException(this + " does not count tenant quotas");
  }

  /** Releases connections and threads; the default does nothing. */
  @Override
  default void close() {}
}

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

  /** Releases connections and threads; the default does nothing. */
  @Override
  default void close() {}
}

package dev.meshguard.ratelimit;

import java.util.List;

/**
 * Where fixed-window counters live. One call carries every counter of one request, so a remote
 * store can answer in one round trip.
 */
public interface CounterStore {

  /**
   * Adds {@code hits[i]} to the counter of {@code keys.get(i)}, in list order, and returns each
   * count after its addition. A key may appear twice; it is then added to twice, and the second
   * result includes the first addition. A hit of 0 reads the count without changing it.
   *
   * @throws StoreException when the store cannot answer; the engine then applies its failure mode
   */
  long[] incrementAndGet(List<CounterKey> keys, long[] hits);
}

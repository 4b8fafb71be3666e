package dev.meshguard.ratelimit;

import java.util.List;

/**
 * A real store seen through a per-test scope: every counter id gets {@code scope} in front, so
 * tests that share one Redis (and reuse the same descriptors and times) never see each other's
 * counters, without flushing a cluster between them. Closing it does not close the store.
 */
record CaseScopedStore(CounterStore store, String scope) implements CounterStore {
  @Override
  public Outcome[] hit(List<Hit> hits, long nowMillis) {
    return store.hit(hits.stream()
        .map(h -> new Hit(new CounterKey(scope + h.counter().id()), h.algorithm(), h.limit(), h.burst(),
            h.windowSeconds(), h.hits()))
        .toList(), nowMillis);
  }
}

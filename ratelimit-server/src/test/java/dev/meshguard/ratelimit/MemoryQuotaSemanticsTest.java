package dev.meshguard.ratelimit;

import dev.meshguard.core.time.ManualClock;

/** {@link QuotaSemantics} on the {@link MemoryStore}. */
class MemoryQuotaSemanticsTest extends QuotaSemantics {
  @Override
  CounterStore newStore(ManualClock clock) {
    return new MemoryStore(clock, 1000);
  }
}

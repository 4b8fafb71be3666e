package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A store whose calls are timed: {@code meshguard_ratelimit_store_latency_seconds}, a histogram of
 * how long each request's store call took, failed ones included (tagged {@code outcome}), by the
 * injected clock's monotonic time. Until {@link #register} the timings go nowhere.
 */
final class MeteredStore implements CounterStore {
  private final CounterStore store;
  private final Clock clock;
  private volatile Timer ok;
  private volatile Timer failed;

  MeteredStore(CounterStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  void register(MeterRegistry registry) {
    ok = timer(registry, "ok");
    failed = timer(registry, "error");
  }

  private static Timer timer(MeterRegistry registry, String outcome) {
    return Timer.builder("meshguard.ratelimit.store.latency")
        .description("Time of one request's store call (one Redis round trip, or in memory)")
        .tag("outcome", outcome)
        .publishPercentileHistogram()
        .register(registry);
  }

  @Override
  public Outcome[] hit(List<Hit> hits, long nowMillis) {
    long start = clock.nanoTime();
    boolean success = false;
    try {
      Outcome[] outcomes = store.hit(hits, nowMillis);
      success = true;
      return outcomes;
    } finally {
      Timer timer = success ? ok : failed;
      if (timer != null) {
        timer.record(clock.nanoTime() - start, TimeUnit.NANOSECONDS);
      }
    }
  }

  @Override
  public void close() {
    store.close();
  }
}

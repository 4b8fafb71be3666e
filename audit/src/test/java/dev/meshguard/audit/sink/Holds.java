package dev.meshguard.audit.sink;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * "This must not happen" checks, which no signal can confirm: the condition is checked repeatedly
 * for a short window. Waiting for something to happen uses {@code dev.meshguard.testkit.Await}.
 * The deterministic form of each such check is in {@link SegmentTailerTest}; the sink tests use
 * this to guard the wiring around it.
 */
final class Holds {
  private static final long PAUSE_NANOS = Duration.ofMillis(10).toNanos();

  private Holds() {}

  static void throughout(Duration window, BooleanSupplier condition, Supplier<String> what) {
    long deadline = System.nanoTime() + window.toNanos();
    while (true) {
      if (!condition.getAsBoolean()) {
        throw new AssertionError("expected to keep holding for " + window.toMillis() + " ms: " + what.get());
      }
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0) {
        return;
      }
      LockSupport.parkNanos(Math.min(PAUSE_NANOS, remaining));
    }
  }
}

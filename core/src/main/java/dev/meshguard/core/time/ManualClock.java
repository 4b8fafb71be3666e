package dev.meshguard.core.time;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Clock} that moves only when told to, for tests and simulations. Wall and monotonic
 * time advance together; {@link #setWallTime} moves wall time alone, as an NTP step would.
 * Thread-safe: tests may advance it while server threads read it.
 */
public final class ManualClock implements Clock {
  private final AtomicLong wallNanos;
  private final AtomicLong monotonicNanos = new AtomicLong();

  public ManualClock(Instant start) {
    Objects.requireNonNull(start, "start");
    this.wallNanos = new AtomicLong(toEpochNanos(start));
  }

  /** A clock starting at 2026-01-01T00:00:00Z. */
  public ManualClock() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  @Override
  public Instant now() {
    long nanos = wallNanos.get();
    return Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L));
  }

  @Override
  public long nanoTime() {
    return monotonicNanos.get();
  }

  /** Moves both clocks forward. */
  public ManualClock advance(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration must not be negative: " + duration);
    }
    long nanos = duration.toNanos();
    wallNanos.addAndGet(nanos);
    monotonicNanos.addAndGet(nanos);
    return this;
  }

  /** Sets wall time alone (forwards or backwards); monotonic time is unaffected. */
  public ManualClock setWallTime(Instant instant) {
    wallNanos.set(toEpochNanos(instant));
    return this;
  }

  private static long toEpochNanos(Instant instant) {
    return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000_000L), instant.getNano());
  }
}

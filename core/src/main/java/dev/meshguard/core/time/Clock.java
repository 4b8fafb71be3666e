package dev.meshguard.core.time;

import java.time.Instant;

/**
 * The source of time for everything in meshguard that depends on it: windows, token buckets,
 * certificate validity, audit timestamps, reload polling. Logic takes a {@code Clock} instead of
 * calling {@link System#currentTimeMillis()} or {@link System#nanoTime()}, so tests drive time
 * with a {@link ManualClock} instead of sleeping (the idea of Caffeine's {@code Ticker} and
 * grpc-java's {@code FakeClock}).
 */
public interface Clock {

  /** The system clock: wall time from {@link Instant#now()}, monotonic time from {@link System#nanoTime()}. */
  Clock SYSTEM = new Clock() {
    @Override
    public Instant now() {
      return Instant.now();
    }

    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public String toString() {
      return "Clock.SYSTEM";
    }
  };

  /** Wall-clock time, for timestamps and calendar arithmetic. May jump (NTP). */
  Instant now();

  /** Monotonic nanoseconds with an arbitrary origin, for measuring intervals. Never jumps back. */
  long nanoTime();

  /** Wall-clock milliseconds since the epoch. */
  default long millis() {
    return now().toEpochMilli();
  }
}

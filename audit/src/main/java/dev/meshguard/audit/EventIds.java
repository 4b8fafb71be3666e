package dev.meshguard.audit;

import dev.meshguard.core.time.Clock;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * UUIDv7 event ids (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits, so ids sort
 * by time. Within one millisecond a counter in the random part keeps ids from one process
 * strictly increasing. Written by hand: the JDK has no UUIDv7 yet and this is a dozen lines.
 */
public final class EventIds {
  // High bits: the last millisecond used; low 12 bits: a counter within it. A counter that
  // overflows carries into the millisecond, so ids stay strictly increasing under any load.
  private static final AtomicLong LAST = new AtomicLong();

  private EventIds() {}

  public static String next(Clock clock) {
    long millis = clock.millis();
    long stamp = LAST.updateAndGet(previous -> {
      long previousMillis = previous >>> 12;
      if (millis > previousMillis) {
        return millis << 12;
      }
      return previous + 1; // same (or earlier) millisecond: count on from the last one
    });
    long timeBits = stamp >>> 12;
    long counter = stamp & 0x0FFF;
    long msb = (timeBits << 16) | 0x7000L | counter;
    // Ids must be unique, not secret: ThreadLocalRandom keeps this off a shared lock on the
    // request path (SecureRandom is synchronized), and the time and counter bits order them.
    long lsb = (ThreadLocalRandom.current().nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}

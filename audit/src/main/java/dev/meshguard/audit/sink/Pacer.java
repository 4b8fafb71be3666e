package dev.meshguard.audit.sink;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where a sink's thread waits between polls and retries, so that {@link #wake} (from
 * {@code close()}, or from a writer announcing new data) ends the wait at once. A wake that comes
 * while nobody waits is remembered and ends the next wait, so it cannot be lost in the gap between
 * a check and a wait.
 *
 * <p>Waits are real time: they pace I/O. Deadlines (batch age, close bounds) are measured on the
 * sink's injected clock by the caller.
 */
final class Pacer {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wakeUp = lock.newCondition();
  private boolean wakeRequested;

  /**
   * Waits up to {@code nanos} or until woken.
   *
   * @return true when woken, false when the time ran out
   */
  boolean pause(long nanos) throws InterruptedException {
    lock.lock();
    try {
      long remaining = nanos;
      while (!wakeRequested && remaining > 0) {
        remaining = wakeUp.awaitNanos(remaining);
      }
      boolean woken = wakeRequested;
      wakeRequested = false;
      return woken;
    } finally {
      lock.unlock();
    }
  }

  /** Ends the current wait, or the next one if nobody waits. */
  void wake() {
    lock.lock();
    try {
      wakeRequested = true;
      wakeUp.signalAll();
    } finally {
      lock.unlock();
    }
  }
}

package dev.meshguard.testkit;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for something outside the test thread (a process, a cluster, a reload) by polling it until
 * it holds or a deadline passes. Use it instead of {@code Thread.sleep} in tests: it returns as
 * soon as the condition holds and, when it never does, fails with what was awaited and what was
 * last seen.
 *
 * <p>Polling starts after {@link #FIRST_PAUSE} and doubles up to {@link #MAX_PAUSE}: quick
 * conditions are noticed within milliseconds, slow ones cost few polls. The last pause is cut to
 * the deadline, so a timeout is reported on time.
 *
 * <p>A {@link RuntimeException} thrown by the condition counts as "not yet" (a server that is still
 * starting refuses connections) and is reported as the last observed state, and attached as the
 * cause, on timeout. An {@link Error}, an {@link AssertionError} included, propagates at once.
 */
public final class Await {
  /** The first pause between two polls. */
  public static final Duration FIRST_PAUSE = Duration.ofMillis(5);

  /** The longest pause between two polls. */
  public static final Duration MAX_PAUSE = Duration.ofMillis(100);

  private static final Await SYSTEM = new Await(System::nanoTime, Await::sleep);

  private final LongSupplier nanoTime;
  private final Sleeper sleeper;

  /** Pauses the polling thread; a fake one lets tests run the loop without real time passing. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(long nanos) throws InterruptedException;
  }

  Await(LongSupplier nanoTime, Sleeper sleeper) {
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
  }

  /**
   * Polls {@code condition} until it returns true.
   *
   * @param timeout how long to keep polling; the condition is checked at least once
   * @param condition what must become true
   * @param whatWeWaitedFor describes the awaited state; called only on timeout, so it can report
   *     the state at that moment
   * @throws AssertionError when the condition did not hold within {@code timeout}
   */
  public static void until(
      Duration timeout, BooleanSupplier condition, Supplier<String> whatWeWaitedFor) {
    Objects.requireNonNull(condition, "condition");
    SYSTEM.poll(timeout, condition::getAsBoolean, Boolean::booleanValue, whatWeWaitedFor, false);
  }

  /**
   * Polls {@code probe} until its result satisfies {@code done}, and returns that result.
   *
   * @param timeout how long to keep polling; the probe is called at least once
   * @param probe observes the current state
   * @param done decides whether an observed state is the awaited one
   * @param whatWeWaitedFor describes the awaited state for the failure message
   * @return the first observed state that satisfied {@code done}
   * @throws AssertionError when no observed state satisfied {@code done} within {@code timeout};
   *     its message names the last observed state
   */
  public static <T> T until(
      Duration timeout,
      Supplier<? extends T> probe,
      Predicate<? super T> done,
      String whatWeWaitedFor) {
    Objects.requireNonNull(whatWeWaitedFor, "whatWeWaitedFor");
    return SYSTEM.poll(timeout, probe, done, () -> whatWeWaitedFor, true);
  }

  <T> T poll(
      Duration timeout,
      Supplier<? extends T> probe,
      Predicate<? super T> done,
      Supplier<String> whatWeWaitedFor,
      boolean reportValue) {
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(probe, "probe");
    Objects.requireNonNull(done, "done");
    Objects.requireNonNull(whatWeWaitedFor, "whatWeWaitedFor");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
    long deadline = nanoTime.getAsLong() + timeout.toNanos();
    long pause = FIRST_PAUSE.toNanos();
    T lastValue = null;
    RuntimeException lastFailure = null;
    while (true) {
      try {
        T value = probe.get();
        if (done.test(value)) {
          return value;
        }
        lastValue = value;
        lastFailure = null;
      } catch (RuntimeException e) {
        lastFailure = e;
      }
      long remaining = deadline - nanoTime.getAsLong();
      if (remaining <= 0) {
        throw timedOut(timeout, whatWeWaitedFor, reportValue, lastValue, lastFailure);
      }
      try {
        sleeper.sleep(Math.min(pause, remaining));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("Interrupted while waiting for " + whatWeWaitedFor.get(), e);
      }
      pause = Math.min(pause * 2, MAX_PAUSE.toNanos());
    }
  }

  private static AssertionError timedOut(
      Duration timeout,
      Supplier<String> whatWeWaitedFor,
      boolean reportValue,
      Object lastValue,
      RuntimeException lastFailure) {
    StringBuilder message =
        new StringBuilder("Timed out after ")
            .append(timeout.toMillis())
            .append(" ms waiting for ")
            .append(whatWeWaitedFor.get());
    if (lastFailure != null) {
      message.append("; the last check threw ").append(lastFailure);
    } else if (reportValue) {
      message.append("; last observed: ").append(lastValue);
    }
    return new AssertionError(message.toString(), lastFailure);
  }

  private static void sleep(long nanos) throws InterruptedException {
    TimeUnit.NANOSECONDS.sleep(nanos);
  }
}

package dev.meshguard.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {
  /** Time that passes only when the poller sleeps, so these tests take no real time. */
  private static final class FakeTime {
    long nanos;
    final List<Long> sleptMillis = new ArrayList<>();

    long now() {
      return nanos;
    }

    void sleep(long pause) {
      sleptMillis.add(Duration.ofNanos(pause).toMillis());
      nanos += pause;
    }
  }

  private final FakeTime time = new FakeTime();
  private final Await await = new Await(time::now, time::sleep);
  private final AtomicInteger calls = new AtomicInteger();

  private <T> T poll(Duration timeout, java.util.function.Supplier<T> probe, T awaited) {
    return await.poll(timeout, probe, awaited::equals, () -> "the value " + awaited, true);
  }

  @Test
  void returnsTheAwaitedValueWithoutPausingWhenItIsThereAtOnce() {
    assertThat(poll(Duration.ofSeconds(1), () -> "ready", "ready")).isEqualTo("ready");
    assertThat(time.sleptMillis).isEmpty();
  }

  @Test
  void pausesTwiceAsLongEachTimeUpToTheMaximum() {
    int result = poll(Duration.ofSeconds(10), calls::incrementAndGet, 10);

    assertThat(result).isEqualTo(10);
    assertThat(time.sleptMillis).containsExactly(5L, 10L, 20L, 40L, 80L, 100L, 100L, 100L, 100L);
  }

  @Test
  void cutsTheLastPauseToTheDeadline() {
    assertThatThrownBy(() -> poll(Duration.ofMillis(12), calls::incrementAndGet, -1))
        .isInstanceOf(AssertionError.class);

    assertThat(time.sleptMillis).containsExactly(5L, 7L);
    assertThat(Duration.ofNanos(time.nanos)).isEqualTo(Duration.ofMillis(12));
    assertThat(calls).hasValue(3);
  }

  @Test
  void timesOutNamingWhatItAwaitedAndWhatItSawLast() {
    assertThatThrownBy(() -> poll(Duration.ofSeconds(1), calls::incrementAndGet, -1))
        .isInstanceOf(AssertionError.class)
        .hasMessage(
            "Timed out after 1000 ms waiting for the value -1; last observed: " + calls.get())
        .hasNoCause();
  }

  @Test
  void describesTheAwaitedStateOnlyOnTimeoutSoItCanReportTheStateThen() {
    AtomicInteger descriptions = new AtomicInteger();

    assertThatThrownBy(
            () ->
                await.poll(
                    Duration.ofMillis(100),
                    calls::incrementAndGet,
                    n -> false,
                    () ->
                        "calls to stop at "
                            + calls.get()
                            + " (described "
                            + descriptions.incrementAndGet()
                            + "x)",
                    false))
        .hasMessage("Timed out after 100 ms waiting for calls to stop at 6 (described 1x)");
  }

  @Test
  void countsAnExceptionAsNotYetAndMakesTheLastOneTheCause() {
    IllegalStateException refused = new IllegalStateException("connection refused");

    assertThatThrownBy(
            () ->
                poll(
                    Duration.ofMillis(50),
                    () -> {
                      throw refused;
                    },
                    "anything"))
        .isInstanceOf(AssertionError.class)
        .hasMessage(
            "Timed out after 50 ms waiting for the value anything; the last check threw "
                + "java.lang.IllegalStateException: connection refused")
        .hasCause(refused);
  }

  @Test
  void returnsOnceTheProbeStopsThrowing() {
    String result =
        poll(
            Duration.ofSeconds(1),
            () -> {
              if (calls.incrementAndGet() < 3) {
                throw new IllegalStateException("still starting");
              }
              return "up";
            },
            "up");

    assertThat(result).isEqualTo("up");
  }

  @Test
  void letsAnErrorThroughAtOnce() {
    AssertionError failure = new AssertionError("the process died");

    assertThatThrownBy(
            () ->
                poll(
                    Duration.ofSeconds(1),
                    () -> {
                      calls.incrementAndGet();
                      throw failure;
                    },
                    "anything"))
        .isSameAs(failure);
    assertThat(calls).hasValue(1);
  }

  @Test
  void checksOnceWithAZeroTimeout() {
    assertThatThrownBy(() -> poll(Duration.ZERO, calls::incrementAndGet, -1))
        .isInstanceOf(AssertionError.class);
    assertThat(calls).hasValue(1);
  }

  @Test
  void rejectsANegativeTimeout() {
    assertThatThrownBy(() -> poll(Duration.ofMillis(-1), calls::incrementAndGet, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout must not be negative: PT-0.001S");
  }

  @Test
  void theStaticConditionFormTimesOutInRealTimeWithTheDescription() {
    long start = System.nanoTime();

    assertThatThrownBy(() -> Await.until(Duration.ofMillis(50), () -> false, () -> "the moon"))
        .isInstanceOf(AssertionError.class)
        .hasMessage("Timed out after 50 ms waiting for the moon");

    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isBetween(Duration.ofMillis(50), Duration.ofSeconds(5));
  }

  @Test
  void theStaticProbeFormReturnsTheAwaitedValue() {
    assertThat(Await.until(Duration.ofSeconds(5), calls::incrementAndGet, n -> n == 3, "three"))
        .isEqualTo(3);
  }

  @Test
  void anInterruptEndsTheWaitAndStaysSet() {
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> Await.until(Duration.ofSeconds(5), () -> false, () -> "nothing"))
          .isInstanceOf(AssertionError.class)
          .hasMessage("Interrupted while waiting for nothing")
          .hasCauseInstanceOf(InterruptedException.class);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }
}

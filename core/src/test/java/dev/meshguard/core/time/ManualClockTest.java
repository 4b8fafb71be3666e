package dev.meshguard.core.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ManualClockTest {

  @Test
  void advancesWallAndMonotonicTimeTogether() {
    ManualClock clock = new ManualClock(Instant.parse("2026-03-01T00:00:00Z"));
    long start = clock.nanoTime();
    clock.advance(Duration.ofMillis(1500));
    assertThat(clock.now()).isEqualTo(Instant.parse("2026-03-01T00:00:01.500Z"));
    assertThat(clock.nanoTime() - start).isEqualTo(1_500_000_000L);
    assertThat(clock.millis()).isEqualTo(Instant.parse("2026-03-01T00:00:01.500Z").toEpochMilli());
  }

  @Test
  void wallTimeCanStepBackWithoutMovingMonotonicTime() {
    ManualClock clock = new ManualClock(Instant.parse("2026-03-01T00:00:10Z"));
    clock.advance(Duration.ofSeconds(5));
    long monotonic = clock.nanoTime();
    clock.setWallTime(Instant.parse("2026-03-01T00:00:00Z"));
    assertThat(clock.now()).isEqualTo(Instant.parse("2026-03-01T00:00:00Z"));
    assertThat(clock.nanoTime()).isEqualTo(monotonic);
  }

  @Test
  void keepsNanosecondsBeforeTheEpoch() {
    ManualClock clock = new ManualClock(Instant.parse("1969-12-31T23:59:59.999999999Z"));
    clock.advance(Duration.ofNanos(2));
    assertThat(clock.now()).isEqualTo(Instant.parse("1970-01-01T00:00:00.000000001Z"));
  }

  @Test
  void refusesToGoBackwards() {
    assertThatThrownBy(() -> new ManualClock().advance(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not be negative");
  }

  @Test
  void systemClockIsMonotonic() {
    long a = Clock.SYSTEM.nanoTime();
    long b = Clock.SYSTEM.nanoTime();
    assertThat(b).isGreaterThanOrEqualTo(a);
    assertThat(Clock.SYSTEM.now()).isAfter(Instant.parse("2020-01-01T00:00:00Z"));
  }
}

package dev.meshguard.ca.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** When the CA server ticks its rotation, and how periods read in its banner. */
class RotationTickerTest {
  static final Instant NOW = Instant.parse("2026-11-28T08:00:00Z");

  @Test
  void ticksAtTheNextTransitionAtLeastHourlyAndRetriesAnOverdueOneAfterAMinute() {
    assertThat(CaServer.RotationTicker.delay(NOW, NOW.plusSeconds(90))).isEqualTo(Duration.ofSeconds(90));
    assertThat(CaServer.RotationTicker.delay(NOW, NOW.plus(Duration.ofDays(300))))
        .as("a wall clock that jumps is noticed within the hour").isEqualTo(Duration.ofHours(1));
    assertThat(CaServer.RotationTicker.delay(NOW, null)).isEqualTo(Duration.ofHours(1));
    assertThat(CaServer.RotationTicker.delay(NOW, NOW)).as("due yet not done: minting failed")
        .isEqualTo(Duration.ofMinutes(1));
    assertThat(CaServer.RotationTicker.delay(NOW, NOW.minusSeconds(5))).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void periodsReadInTheirLargestWholeUnit() {
    assertThat(CaServer.days(Duration.ofDays(365))).isEqualTo("365d");
    assertThat(CaServer.days(Duration.ofHours(36))).isEqualTo("36h");
    assertThat(CaServer.days(Duration.ofHours(24).plusMinutes(30))).isEqualTo("1470m");
  }
}

package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BackoffTest {
  private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), 2.0, 0.5);

  @ParameterizedTest(name = "attempt {0}, random {1} -> {2} ms")
  @CsvSource({
      // attempt, random, expected millis
      "1,  0.0,   100",
      "2,  0.0,   200",
      "3,  0.0,   400",
      "6,  0.0,  3200",
      "7,  0.0,  5000", // capped
      "1000, 0.0, 5000", // far past the cap: no overflow
      "2147483647, 0.0, 5000",
      "1,  0.5,    75", // 100 * (1 - 0.5 * 0.5)
      "3,  0.999, 200.2", // at most jitter (half) shorter
      "7,  0.5,  3750",
  })
  void growsExponentiallyUpToTheCapAndJitterOnlyShortens(int attempt, double random, double expectedMillis) {
    assertThat(backoff.delay(attempt, random).toNanos() / 1e6).isCloseTo(expectedMillis, org.assertj.core.data.Offset.offset(0.001));
  }

  @Test
  void everyDelayIsWithinItsJitterBand() {
    Random random = new Random(42);
    for (int attempt = 1; attempt <= 20; attempt++) {
      double base = Math.min(5000, 100 * Math.pow(2, attempt - 1));
      for (int i = 0; i < 100; i++) {
        double millis = backoff.delay(attempt, random.nextDouble()).toNanos() / 1e6;
        assertThat(millis).isBetween(base * 0.5, base);
      }
    }
  }

  @Test
  void noJitterIsExact() {
    Backoff exact = new Backoff(Duration.ofMillis(10), Duration.ofMillis(35), 3.0, 0.0);
    assertThat(exact.delay(1, 0.9)).isEqualTo(Duration.ofMillis(10));
    assertThat(exact.delay(2, 0.9)).isEqualTo(Duration.ofMillis(30));
    assertThat(exact.delay(3, 0.9)).isEqualTo(Duration.ofMillis(35));
  }

  @ParameterizedTest(name = "{4}")
  @CsvSource(delimiter = '|', value = {
      "PT0S    | PT1S   | 2.0 | 0.2 | initial must be positive, found PT0S",
      "PT-1S   | PT1S   | 2.0 | 0.2 | initial must be positive, found PT-1S",
      "PT2S    | PT1S   | 2.0 | 0.2 | max must not be shorter than initial (PT2S), found PT1S",
      "PT1S    | PT2S   | 0.5 | 0.2 | multiplier must be a finite number of at least 1, found 0.5",
      "PT1S    | PT2S   | NaN | 0.2 | multiplier must be a finite number of at least 1, found NaN",
      "PT1S    | PT2S   | Infinity | 0.2 | multiplier must be a finite number of at least 1, found Infinity",
      "PT1S    | PT2S   | 2.0 | 1.5 | jitter must be between 0 and 1, found 1.5",
      "PT1S    | PT2S   | 2.0 | -0.1 | jitter must be between 0 and 1, found -0.1",
  })
  void invalidSettingsAreRefusedNamingTheField(Duration initial, Duration max, double multiplier, double jitter,
      String message) {
    assertThatThrownBy(() -> new Backoff(initial, max, multiplier, jitter))
        .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
  }

  @Test
  void delayArgumentsAreChecked() {
    assertThatThrownBy(() -> backoff.delay(0, 0.0)).hasMessage("attempt must be at least 1, found 0");
    assertThatThrownBy(() -> backoff.delay(1, 1.0)).hasMessage("random must be in [0, 1), found 1.0");
  }

  @Test
  void defaultsAreTheNamedConstants() {
    assertThat(Backoff.DEFAULT).isEqualTo(new Backoff(Backoff.DEFAULT_INITIAL, Backoff.DEFAULT_MAX,
        Backoff.DEFAULT_MULTIPLIER, Backoff.DEFAULT_JITTER));
    assertThat(Backoff.DEFAULT.delay(1, 0.0)).isEqualTo(Duration.ofMillis(200));
    assertThat(Backoff.DEFAULT.delay(100, 0.0)).isEqualTo(Duration.ofSeconds(30));
  }
}

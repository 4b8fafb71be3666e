package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FiguresTest {

  @Test
  void keepsInsertionOrderAndRoundsFractionsToThreeDecimals() {
    Figures figures = new Figures().put("suite", "audit-write").put("quick", false).put("events", 200_000)
        .put("events_per_sec", 31859.44216).put("ratio", 0.0954).put("append_median_ns", 40.0)
        .put("big", 1.5e12);
    assertThat(figures.toJsonLine()).isEqualTo("{\"suite\":\"audit-write\",\"quick\":false,\"events\":200000,"
        + "\"events_per_sec\":31859.442,\"ratio\":0.095,\"append_median_ns\":40,\"big\":1500000000000}");
  }

  @Test
  void escapesStrings() {
    assertThat(new Figures().put("work_dir", "/tmp/a \"b\"\\c").toJsonLine())
        .isEqualTo("{\"work_dir\":\"/tmp/a \\\"b\\\"\\\\c\"}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Ratio", "events-per-sec", "eventsPerSec", "_ratio", "ratio_", "ratio__min", "1st"})
  void refusesKeysThatAreNotSnakeCase(String key) {
    assertThatThrownBy(() -> new Figures().put(key, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("figure keys are snake_case, found \"" + key + "\"");
  }

  @Test
  void refusesAKeyTwice() {
    Figures figures = new Figures().put("ratio", 0.5);
    assertThatThrownBy(() -> figures.putAll(new Figures().put("ratio", 0.7)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("figure \"ratio\" is already set");
  }

  @ParameterizedTest
  @CsvSource({"NaN", "Infinity", "-Infinity"})
  void refusesWhatJsonCannotHold(double value) {
    assertThatThrownBy(() -> new Figures().put("ratio", value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ratio must be a finite number, found " + value);
  }
}

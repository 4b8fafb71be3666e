package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Go's {@code time.ParseDuration} grammar, which Envoy's YAML durations share. */
class DurationsTest {

  static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("0", Duration.ZERO),
        Arguments.of("-0", Duration.ZERO),
        Arguments.of("0s", Duration.ZERO),
        Arguments.of("1ns", Duration.ofNanos(1)),
        Arguments.of("1us", Duration.ofNanos(1_000)),
        Arguments.of("1\u00b5s", Duration.ofNanos(1_000)),
        Arguments.of("1\u03bcs", Duration.ofNanos(1_000)),
        Arguments.of("250ms", Duration.ofMillis(250)),
        Arguments.of("10s", Duration.ofSeconds(10)),
        Arguments.of("5m", Duration.ofMinutes(5)),
        Arguments.of("24h", Duration.ofHours(24)),
        Arguments.of("1h30m", Duration.ofMinutes(90)),
        Arguments.of("1h30m15s500ms", Duration.ofHours(1).plusMinutes(30).plusSeconds(15).plusMillis(500)),
        Arguments.of("1.5s", Duration.ofMillis(1500)),
        Arguments.of(".5s", Duration.ofMillis(500)),
        Arguments.of("1.s", Duration.ofSeconds(1)),
        Arguments.of("0.1ns", Duration.ZERO),
        Arguments.of("1.9ns", Duration.ofNanos(1)),
        Arguments.of("+2m", Duration.ofMinutes(2)),
        Arguments.of("-1.5h", Duration.ofMinutes(-90)),
        Arguments.of("30s1m", Duration.ofSeconds(90)),
        Arguments.of("2562047h47m16.854775807s", Duration.ofNanos(Long.MAX_VALUE)));
  }

  @ParameterizedTest
  @MethodSource("valid")
  void parses(String text, Duration expected) {
    assertThat(Durations.parse(text)).isEqualTo(expected);
  }

  static Stream<Arguments> invalid() {
    String units = "; units are ns, us, ms, s, m, h";
    return Stream.of(
        Arguments.of("", "it is empty"),
        Arguments.of("-", "it is empty"),
        Arguments.of("10", "missing unit after \"10\"" + units),
        Arguments.of("1h30", "missing unit after \"30\"" + units),
        Arguments.of("0.0", "missing unit after \"0.0\"" + units),
        Arguments.of("1d", "unknown unit \"d\"" + units),
        Arguments.of("1S", "unknown unit \"S\"" + units),
        Arguments.of("10 s", "unknown unit \" s\"" + units),
        Arguments.of("1sec", "unknown unit \"sec\"" + units),
        Arguments.of("s", "expected a number at position 1"),
        Arguments.of("1h-5m", "unknown unit \"h-\"" + units),
        Arguments.of(".s", "malformed number \".\""),
        Arguments.of("1.2.3s", "malformed number \"1.2.3\""),
        Arguments.of("1".repeat(41) + "s", "number too long"),
        Arguments.of("2562047h47m16.854775808s", "too large; the largest duration is about 292 years"),
        Arguments.of("9999999999h", "too large; the largest duration is about 292 years"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void rejects(String text, String reason) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(reason);
  }

  @Test
  void aHugeInputFailsFast() {
    assertThatThrownBy(() -> Durations.parse("9".repeat(1_000_000) + "s")).hasMessage("number too long");
  }
}

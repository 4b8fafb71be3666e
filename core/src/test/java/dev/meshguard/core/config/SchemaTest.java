package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A record type the binder cannot handle is a programming error, named precisely. */
class SchemaTest {

  record WithObject(Object x) {}

  record WithSet(Set<String> tags) {}

  record WithIntKeys(Map<Integer, String> byId) {}

  record RangeOnString(@Range(min = "1") String s) {}

  record RangeOnList(@Range(min = "1") List<Integer> sizes) {}

  record EmptyRange(@Range int i) {}

  record BadRange(@Range(min = "one") int i) {}

  record InvertedRange(@Range(min = "5", max = "1") int i) {}

  record UnitlessDurationRange(@Range(min = "5") Duration d) {}

  record NotBlankOnInt(@NotBlank int i) {}

  record BadKey(@ConfigKey("Bad-Key") int i) {}

  record KeyClash(int aB, @ConfigKey("a_b") int other) {}

  record Inner(int b) {}

  record EnvClash(Inner a, int aB) {}

  record Recursive(List<Recursive> children) {}

  static Stream<Arguments> invalidSchemas() {
    return Stream.of(
        Arguments.of(new WithObject(1), "WithObject.x: type java.lang.Object is not supported; use String, boolean, int, "
            + "long, double, Duration, Path, an enum, a record, List<T> or Map<String, T>"),
        Arguments.of(new WithSet(Set.of()), "WithSet.tags: type java.util.Set<java.lang.String> is not supported"),
        Arguments.of(new WithIntKeys(Map.of()), "WithIntKeys.byId: map keys must be String, not class java.lang.Integer"),
        Arguments.of(new RangeOnString(""), "RangeOnString.s: @Range applies to int, long, double and Duration components only"),
        Arguments.of(new RangeOnList(List.of()), "RangeOnList.sizes: @Range and @NotBlank apply to scalar components only"),
        Arguments.of(new EmptyRange(0), "EmptyRange.i: @Range needs a min, a max or both"),
        Arguments.of(new BadRange(0), "BadRange.i: @Range bound \"one\" is not a number"),
        Arguments.of(new InvertedRange(0), "InvertedRange.i: @Range min 5 is above max 1"),
        Arguments.of(new UnitlessDurationRange(Duration.ZERO), "UnitlessDurationRange.d: @Range bound \"5\" is not a duration"),
        Arguments.of(new NotBlankOnInt(0), "NotBlankOnInt.i: @NotBlank applies to String components only"),
        Arguments.of(new BadKey(0), "BadKey.i: key \"Bad-Key\" is not snake_case ([a-z0-9_]+)"),
        Arguments.of(new KeyClash(0, 0), "KeyClash.other: key a_b is also the key of aB"),
        Arguments.of(new EnvClash(new Inner(0), 0), SchemaTest.class.getName() + "$EnvClash: keys a.b and a_b both map to "
            + "the environment variable MESHGUARD_A_B; rename one with @ConfigKey"),
        Arguments.of(new Recursive(List.of()), SchemaTest.class.getName() + "$Recursive contains itself; recursive "
            + "configuration records are not supported"));
  }

  @ParameterizedTest
  @MethodSource("invalidSchemas")
  void rejects(Record defaults, String message) {
    assertThatThrownBy(() -> Config.parse("", "t.yaml", null, defaults, Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void rejectsNullArguments() {
    assertThatThrownBy(() -> Config.parse("", "t.yaml", null, null, Map.of(), Map.of()))
        .isInstanceOf(NullPointerException.class).hasMessage("defaults");
    assertThatThrownBy(() -> Config.load(null, SampleConfig.DEFAULTS, null, Map.of()))
        .isInstanceOf(NullPointerException.class).hasMessage("flags");
    assertThatThrownBy(() -> Config.load(null, SampleConfig.DEFAULTS, Map.of(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("env");
  }
}

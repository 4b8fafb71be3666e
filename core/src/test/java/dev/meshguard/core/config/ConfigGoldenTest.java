package dev.meshguard.core.config;

import static dev.meshguard.core.config.ConfigTesting.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden error files, as cel-java keeps its policy baselines: each {@code config/invalid/NAME.yaml}
 * bound onto {@link SampleConfig} must throw exactly the errors in {@code NAME.expected_errors},
 * one rendered error a line, in order. To rewrite the expected files after a deliberate change
 * of messages, run
 *
 * <pre>./mvnw -pl core verify -Dtest=ConfigGoldenTest -Dmeshguard.config.regenerate=true</pre>
 *
 * and review the diff; without the property a mismatch fails.
 */
class ConfigGoldenTest {

  /** The module directory is the working directory of the tests; the sources are edited in place. */
  private static final Path CASES = Path.of("src/test/resources/config/invalid");

  private static final boolean REGENERATE = Boolean.getBoolean("meshguard.config.regenerate");

  static Stream<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(CASES)) {
      List<String> names = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .map(n -> n.substring(0, n.length() - ".yaml".length()))
          .sorted()
          .toList();
      assertThat(names).as("cases in %s", CASES.toAbsolutePath()).contains("bad", "syntax");
      return names.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void reportsTheExpectedErrors(String name) throws IOException {
    String yaml = Files.readString(CASES.resolve(name + ".yaml"));
    List<String> actual = errors(() -> Config.parse(yaml, name + ".yaml", null, SampleConfig.DEFAULTS, Map.of(), Map.of()));
    Path expectedFile = CASES.resolve(name + ".expected_errors");
    if (REGENERATE) {
      Files.write(expectedFile, actual, StandardCharsets.UTF_8);
    }
    assertThat(expectedFile).as("no %s; run with -Dmeshguard.config.regenerate=true to write it", expectedFile).exists();
    assertThat(actual).as("errors of %s.yaml (rerun with -Dmeshguard.config.regenerate=true to accept)", name)
        .containsExactlyElementsOf(Files.readAllLines(expectedFile, StandardCharsets.UTF_8));
  }
}

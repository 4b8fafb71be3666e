package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden error files, as cel-java keeps its policy baselines: each
 * {@code src/test/resources/invalid/NAME.yaml} (or {@code .json}) must be refused with exactly the
 * errors in {@code NAME.errors}, one rendered error a line, in order. Each file says in its first
 * comment which Istio rule it breaks; the baselines were written from those rules and reviewed line
 * by line. To rewrite them after a deliberate change of messages, run
 *
 * <pre>./mvnw -pl policy-compiler verify -Dtest=PolicyGoldenTest -Dmeshguard.policy.regenerate=true</pre>
 *
 * and review the diff; without the property a mismatch fails.
 */
class PolicyGoldenTest {

  /** The module directory is the working directory of the tests; the sources are edited in place. */
  private static final Path CASES = Path.of("src/test/resources/invalid");

  private static final boolean REGENERATE = Boolean.getBoolean("meshguard.policy.regenerate");

  static Stream<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(CASES)) {
      List<String> names = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") || n.endsWith(".json"))
          .sorted()
          .toList();
      assertThat(names).as("cases in %s", CASES.toAbsolutePath()).hasSizeGreaterThanOrEqualTo(30);
      return names.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void reportsTheExpectedErrors(String file) throws IOException {
    String text = Files.readString(CASES.resolve(file));
    ConfigException thrown = catchThrowableOfType(ConfigException.class,
        () -> PolicyLoader.parse("invalid/" + file, text));
    assertThat(thrown).as("%s must be refused", file).isNotNull();
    List<String> actual = thrown.errors().stream().map(ConfigError::render).toList();
    Path expectedFile = CASES.resolve(file.substring(0, file.lastIndexOf('.')) + ".errors");
    if (REGENERATE) {
      Files.write(expectedFile, actual, StandardCharsets.UTF_8);
    }
    assertThat(expectedFile).as("no %s; run with -Dmeshguard.policy.regenerate=true to write it", expectedFile)
        .exists();
    assertThat(actual).as("errors of %s (rerun with -Dmeshguard.policy.regenerate=true to accept)", file)
        .containsExactlyElementsOf(Files.readAllLines(expectedFile, StandardCharsets.UTF_8));
    assertThat(thrown.getMessage()).isEqualTo(String.join("\n", actual));
  }
}

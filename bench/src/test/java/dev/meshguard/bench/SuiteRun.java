package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One suite run through bench/run's main with {@code --quick}, as the suites' smoke tests need it:
 * it must succeed and print exactly one JSON line of {@code suite, quick, figures, ratios, goals}.
 *
 * @param json the line, parsed
 * @param stderr the progress the suite printed
 */
record SuiteRun(JsonNode json, String stderr) {

  static SuiteRun of(String name, Suite suite, Path dir) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {name, "--quick", "--dir", dir.toString()}, List.of(suite),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(stderr).isEqualTo(Main.OK);
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).as("stdout holds the figures alone").hasSize(1);
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    assertThat(names(json)).containsExactly("suite", "quick", "figures", "ratios", "goals");
    assertThat(json.get("suite").asText()).isEqualTo(name);
    return new SuiteRun(json, stderr);
  }

  /** The field names of {@code node}, in order. */
  static List<String> names(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ca-issue suite end to end through bench/run's main, default mode only and tiny (a few
 * seconds in this JVM; FIPS mode needs a forked JVM, which {@code bench/run ca-issue --quick}
 * exercises).
 */
class CaIssueSuiteTest {
  private static final CaIssueSuite.Settings TINY = new CaIssueSuite.Settings(List.of(CaIssueSuite.DEFAULT), 0, 0,
      Duration.ofMillis(100), 1, Duration.ofMillis(200));

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfFiguresRatiosAndGoals() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"ca-issue", "--quick", "--dir", dir.toString()},
        List.of(new CaIssueSuite(TINY, TINY)), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(stderr).isEqualTo(Main.OK);
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).as("stdout holds the figures alone").hasSize(1);
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    assertThat(names(json)).containsExactly("suite", "quick", "figures", "ratios", "goals");
    assertThat(json.get("suite").asText()).isEqualTo("ca-issue");

    JsonNode figures = json.get("figures");
    assertThat(names(figures)).containsExactly("default_issued_per_sec", "default_issued_per_sec_all_cores",
        "default_verify_sign_per_sec", "default_verify_sign_per_sec_all_cores", "threads_all_cores", "forks",
        "iterations", "java_version", "cpus");
    for (String key : names(figures)) {
      if (figures.get(key).isNumber() && !key.equals("forks")) {
        assertThat(figures.get(key).asDouble()).as(key).isPositive();
      }
    }
    JsonNode ratios = json.get("ratios");
    assertThat(names(ratios)).containsExactly("default_single_thread", "default_all_cores");
    assertThat(ratios.get("default_single_thread").asDouble()).isEqualTo(
        figures.get("default_issued_per_sec").asDouble() / figures.get("default_verify_sign_per_sec").asDouble(),
        org.assertj.core.data.Offset.offset(0.002));
    JsonNode goal = json.get("goals").get("default_single_thread");
    assertThat(goal.get("goal").asText()).isEqualTo(">= 0.7");
    assertThat(goal.get("met").asBoolean()).isEqualTo(goal.get("value").asDouble() >= 0.7);
    assertThat(stderr).contains("CaIssueBenchmark.issueAllCores").contains("CaIssueBenchmark.verifyAndSign");
  }

  @Test
  void modesAreDefaultOrFips() {
    assertThatThrownBy(() -> new CaIssueSuite.Settings(List.of("fast"), 0, 0, Duration.ofMillis(1), 1,
        Duration.ofMillis(1))).hasMessage("modes are default and/or fips, found [fast]");
  }

  private static List<String> names(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}

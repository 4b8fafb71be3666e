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
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ca-issue suite end to end through bench/run's main, tiny: default mode in this JVM and FIPS
 * mode in a JVM of its own (approved-only), a few seconds in all.
 */
class CaIssueSuiteTest {
  private static final CaIssueSuite.Settings TINY = new CaIssueSuite.Settings(CaIssueSuite.MODES,
      new CaIssueRun.Settings(Duration.ofMillis(200), 2, Duration.ofMillis(100), 2));

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfFiguresRatiosAndGoalsForBothModes() throws Exception {
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
    assertThat(names(figures)).containsExactly("default_issued_per_sec", "default_verify_sign_per_sec",
        "default_issued_per_sec_all_cores", "default_verify_sign_per_sec_all_cores", "fips_issued_per_sec",
        "fips_verify_sign_per_sec", "fips_issued_per_sec_all_cores", "fips_verify_sign_per_sec_all_cores",
        "threads_all_cores", "rounds", "slice_ms", "warmup_s", "java_version", "cpus");
    for (String key : names(figures)) {
      if (figures.get(key).isNumber() && !key.equals("warmup_s")) {
        assertThat(figures.get(key).asDouble()).as(key).isPositive();
      }
    }
    JsonNode ratios = json.get("ratios");
    for (String mode : CaIssueSuite.MODES) {
      for (String threads : List.of("single_thread", "all_cores")) {
        String key = mode + "_" + threads;
        assertThat(ratios.get(key + "_min").asDouble()).isPositive()
            .isLessThanOrEqualTo(ratios.get(key).asDouble() + 0.001);
        assertThat(ratios.get(key + "_max").asDouble()).isGreaterThanOrEqualTo(ratios.get(key).asDouble() - 0.001);
        JsonNode goal = json.get("goals").get(key);
        assertThat(goal.get("value").asDouble()).isCloseTo(ratios.get(key).asDouble(), Offset.offset(0.001));
        assertThat(goal.get("goal").asText()).isEqualTo(">= 0.7");
        assertThat(goal.get("met").asBoolean()).isEqualTo(goal.get("value").asDouble() >= 0.7);
      }
    }
    assertThat(stderr).contains("ca-issue: default mode, the JDK's provider")
        .contains("ca-issue: fips mode in a JVM of its own")
        .contains("ca-issue: fips mode, BCFIPS (approved-only) provider")
        .contains("ca-issue: fips round 2: 1 thread ");
  }

  @Test
  void modesAreDefaultOrFips() {
    assertThatThrownBy(() -> new CaIssueSuite.Settings(List.of("fast"), TINY.run()))
        .hasMessage("modes are default and/or fips, found [fast]");
  }

  private static List<String> names(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}

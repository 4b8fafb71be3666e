package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
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
    SuiteRun run = SuiteRun.of("ca-issue", new CaIssueSuite(TINY, TINY), dir);
    JsonNode json = run.json();
    String stderr = run.stderr();

    JsonNode figures = json.get("figures");
    assertThat(SuiteRun.names(figures)).containsExactly("default_issued_per_sec", "default_verify_sign_per_sec",
        "default_issued_per_sec_all_cores", "default_verify_sign_per_sec_all_cores", "fips_issued_per_sec",
        "fips_verify_sign_per_sec", "fips_issued_per_sec_all_cores", "fips_verify_sign_per_sec_all_cores",
        "threads_all_cores", "rounds", "slice_ms", "warmup_s", "java_version", "cpus");
    for (String key : SuiteRun.names(figures)) {
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
}

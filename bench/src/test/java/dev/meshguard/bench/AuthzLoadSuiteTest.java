package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authz-load suite end to end through bench/run's main, tiny (100 policies, low rates, a few
 * hundred milliseconds per run): both servers start, meshguard decides the requests as its policies
 * say, and the JSON line holds every figure, ratio and goal.
 */
class AuthzLoadSuiteTest {
  private static final List<Integer> RATES = List.of(200, 500, 1_000);
  /** 100 policies, not 1,000: compiling those takes seconds in a cold JVM on a busy machine. */
  private static final AuthzLoadSuite.Settings TINY = new AuthzLoadSuite.Settings(100, RATES, Duration.ofMillis(400),
      Duration.ofMillis(300), Duration.ofMillis(300), 1, 2, 2048, 16);

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfFiguresRatiosAndGoalsForEveryRate() throws Exception {
    SuiteRun run = SuiteRun.of("authz-load", new AuthzLoadSuite(TINY, TINY), dir);
    JsonNode json = run.json();
    String stderr = run.stderr();

    JsonNode figures = json.get("figures");
    List<String> expected = new ArrayList<>(List.of("policies", "request_pool", "denied_share",
        "audit_allow_sample_rate", "null_max_rps", "meshguard_max_rps"));
    for (int rate : RATES) {
      for (String target : AuthzLoadSuite.TARGETS) {
        for (String figure : List.of("p50_us", "p99_us", "p999_us", "max_us", "achieved_rps", "errors", "denied")) {
          expected.add(target + "_" + rate + "_" + figure);
        }
      }
    }
    expected.addAll(List.of("audit_events_written", "audit_appends_rejected", "rounds", "seconds_per_rate",
        "max_throughput_s", "warmup_s", "channels", "max_outstanding", "closed_loop_outstanding", "java_version",
        "cpus"));
    assertThat(SuiteRun.names(figures)).containsExactlyElementsOf(expected);
    assertThat(figures.get("policies").asInt()).isEqualTo(100);
    for (String key : SuiteRun.names(figures)) {
      JsonNode value = figures.get(key);
      if (!value.isNumber()) {
        continue;
      }
      if (key.endsWith("_errors") || key.equals("audit_appends_rejected")
          || key.startsWith("null_") && key.endsWith("_denied")) {
        assertThat(value.asDouble()).as(key).isNotNegative();
      } else {
        assertThat(value.asDouble()).as(key).isPositive();
      }
    }
    for (int rate : RATES) {
      for (String target : AuthzLoadSuite.TARGETS) {
        String key = target + "_" + rate;
        assertThat(figures.get(key + "_p50_us").asDouble()).as(key)
            .isLessThanOrEqualTo(figures.get(key + "_p99_us").asDouble())
            .isLessThanOrEqualTo(figures.get(key + "_p999_us").asDouble());
      }
      assertThat(figures.get("null_" + rate + "_denied").asLong()).as("the null server allows all").isZero();
    }

    JsonNode ratios = json.get("ratios");
    List<String> ratioNames = new ArrayList<>(List.of("max_throughput", "max_throughput_min", "max_throughput_max"));
    RATES.forEach(rate -> ratioNames.addAll(List.of("p50_" + rate, "p99_" + rate, "p999_" + rate)));
    assertThat(SuiteRun.names(ratios)).containsExactlyElementsOf(ratioNames);
    ratioNames.forEach(name -> assertThat(ratios.get(name).asDouble()).as(name).isPositive());

    JsonNode goals = json.get("goals");
    List<String> goalNames = new ArrayList<>(List.of("max_throughput"));
    RATES.forEach(rate -> goalNames.addAll(List.of("p99_" + rate, "rate_" + rate)));
    assertThat(SuiteRun.names(goals)).containsExactlyElementsOf(goalNames);
    assertThat(goals.get("max_throughput").get("goal").asText()).isEqualTo(">= 0.8");
    assertThat(goals.get("max_throughput").get("met").asBoolean())
        .isEqualTo(ratios.get("max_throughput").asDouble() >= 0.8);
    for (int rate : RATES) {
      JsonNode p99 = goals.get("p99_" + rate);
      assertThat(p99.get("value").asDouble()).isEqualTo(ratios.get("p99_" + rate).asDouble());
      assertThat(p99.get("goal").asText()).isEqualTo("<= 2.0");
      assertThat(p99.get("met").asBoolean()).isEqualTo(p99.get("value").asDouble() <= 2.0);
      assertThat(goals.get("rate_" + rate).get("value").asDouble()).isPositive();
    }
    assertThat(stderr).contains("authz-load: meshguard serves 100 policies")
        .contains("authz-load: round 1 null      max throughput ")
        .contains("authz-load: round 1 meshguard  1000 rps: achieved ");
    try (var left = Files.list(dir)) {
      assertThat(left).as("the run's policies and audit log are deleted").isEmpty();
    }
  }

  @Test
  void settingsRefuseEmptyRunsAndRates() {
    assertThatThrownBy(() -> new AuthzLoadSuite.Settings(100, List.of(), Duration.ZERO, Duration.ofSeconds(1),
        Duration.ofSeconds(1), 1, 1, 1, 1)).hasMessage("rates must be positive, found []");
    assertThatThrownBy(() -> new AuthzLoadSuite.Settings(100, RATES, Duration.ZERO, Duration.ZERO,
        Duration.ofSeconds(1), 1, 1, 1, 1)).hasMessage("need positive run durations");
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy-eval suite end to end through bench/run's main, with two small policy counts and tiny JMH settings. */
class PolicyEvalSuiteTest {
  private static final PolicyEvalSuite.Settings TINY =
      new PolicyEvalSuite.Settings(List.of(10, 100), 0, 0, Duration.ofMillis(50), 1, Duration.ofMillis(100));

  @TempDir
  Path dir;

  @Test
  void endsWithFiguresRatiosAndGoals() throws Exception {
    SuiteRun run = SuiteRun.of("policy-eval", new PolicyEvalSuite(TINY, TINY), dir);
    JsonNode json = run.json();
    String stderr = run.stderr();
    for (String layout : List.of("in_scope", "spread")) {
      for (int count : List.of(10, 100)) {
        for (String engine : List.of("meshguard", "grpc")) {
          assertThat(json.get("figures").get(engine + "_" + layout + "_" + count + "_per_sec").asDouble())
              .as(engine + " " + layout + " " + count).isPositive();
        }
        assertThat(json.get("ratios").get("meshguard_vs_grpc_" + layout + "_" + count).asDouble()).isPositive();
      }
    }
    assertThat(json.get("ratios").get("cost_10000_over_100").asDouble()).isPositive();
    for (String goal : List.of("meshguard_vs_grpc_at_1000", "cost_10000_over_100")) {
      JsonNode g = json.get("goals").get(goal);
      assertThat(g.get("value").asDouble()).as(goal).isPositive();
      assertThat(g.get("goal").asText()).matches("(>=|<=) \\d+");
      assertThat(g.get("met").isBoolean()).isTrue();
    }
    assertThat(stderr).contains("PolicyEvalBenchmark.meshguard").contains("PolicyEvalBenchmark.grpc");
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

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
 * The rls-load suite end to end through bench/run's main, tiny: a real redis-server, the null,
 * memory and Redis-backed servers over gRPC, MONITOR samples, meshguard's RedisStore and Bucket4j,
 * a few seconds in all.
 */
class RlsLoadSuiteTest {
  private static final RlsLoadSuite.Settings TINY = new RlsLoadSuite.Settings(Duration.ofMillis(300),
      Duration.ofMillis(300), 8, 200, Duration.ofMillis(100), Duration.ofMillis(300), 50, 20, 20);

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfFiguresRatiosAndGoals() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"rls-load", "--quick", "--dir", dir.toString()},
        List.of(new RlsLoadSuite(TINY, TINY)), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(stderr).isEqualTo(Main.OK);
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).as("stdout holds the figures alone").hasSize(1);
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    assertThat(names(json)).containsExactly("suite", "quick", "figures", "ratios", "goals");
    assertThat(json.get("suite").asText()).isEqualTo("rls-load");

    JsonNode figures = json.get("figures");
    List<String> expected = new ArrayList<>();
    for (int d : RlsLoadSuite.DESCRIPTORS) {
      for (String target : RlsLoadSuite.TARGETS) {
        expected.add(target + "_" + d + "_calls_per_sec");
      }
    }
    expected.add("open_loop_rate");
    for (int d : RlsLoadSuite.DESCRIPTORS) {
      for (String target : RlsLoadSuite.TARGETS) {
        expected.add(target + "_" + d + "_p50_us");
        expected.add(target + "_" + d + "_p99_us");
      }
    }
    for (int d : RlsLoadSuite.DESCRIPTORS) {
      expected.addAll(List.of("redis_" + d + "_commands_per_request", "redis_" + d + "_script_calls_per_request",
          "redis_" + d + "_round_trips_per_request", "redis_" + d + "_commands"));
    }
    expected.addAll(List.of("direct_meshguard_decisions_per_sec", "direct_bucket4j_decisions_per_sec",
        "direct_meshguard_commands_per_decision", "direct_bucket4j_commands_per_decision",
        "direct_meshguard_round_trips_per_decision", "direct_bucket4j_round_trips_per_decision",
        "direct_meshguard_commands", "direct_bucket4j_commands", "direct_denied", "errors", "redis_store_errors",
        "outstanding", "keys", "measure_s", "redis_version", "java_version", "cpus"));
    assertThat(names(figures)).containsExactlyElementsOf(expected);
    for (String key : expected) {
      if (key.endsWith("_per_sec") || key.endsWith("_us") || key.endsWith("_per_request")
          || key.endsWith("_per_decision") || key.equals("open_loop_rate")) {
        assertThat(figures.get(key).asDouble()).as(key).isPositive();
      }
    }
    assertThat(figures.get("errors").asLong()).as("gRPC errors and failed decisions").isZero();
    assertThat(figures.get("redis_store_errors").asLong()).as("failure-mode answers").isZero();
    assertThat(figures.get("direct_denied").asLong()).as("limits far above the load").isZero();

    // What Redis counted: one script call per request however many descriptors, each descriptor's
    // fixed window an INCRBY (and an EXPIRE when its key is new).
    for (int d : RlsLoadSuite.DESCRIPTORS) {
      assertThat(figures.get("redis_" + d + "_round_trips_per_request").asDouble()).as("round trips, %d", d)
          .isEqualTo(1.0);
      assertThat(figures.get("redis_" + d + "_script_calls_per_request").asDouble()).as("script calls, %d", d)
          .isCloseTo(1.0, Offset.offset(0.01));
      assertThat(figures.get("redis_" + d + "_commands").get("incrby").asDouble()).as("incrby, %d", d)
          .isCloseTo(d, Offset.offset(0.01));
    }
    assertThat(figures.get("direct_meshguard_round_trips_per_decision").asDouble()).isEqualTo(1.0);
    assertThat(figures.get("direct_bucket4j_round_trips_per_decision").asDouble())
        .as("Bucket4j's compare-and-swap: a GET, then a script").isGreaterThanOrEqualTo(2.0);

    JsonNode ratios = json.get("ratios");
    assertThat(names(ratios)).containsExactly("memory_1_throughput", "memory_1_p50", "memory_1_p99",
        "redis_1_throughput", "redis_1_p50", "redis_1_p99", "memory_3_throughput", "memory_3_p50", "memory_3_p99",
        "redis_3_throughput", "redis_3_p50", "redis_3_p99", "meshguard_vs_bucket4j");
    ratios.forEach(ratio -> assertThat(ratio.asDouble()).isPositive());
    for (int d : RlsLoadSuite.DESCRIPTORS) {
      JsonNode goal = json.get("goals").get("redis_" + d + "_round_trips_per_request");
      assertThat(goal.get("goal").asText()).isEqualTo("1");
      assertThat(goal.get("met").asBoolean()).isTrue();
    }
    assertThat(stderr).contains("rls-load: redis-server").contains("rls-load: direct bucket4j");
  }

  private static List<String> names(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}

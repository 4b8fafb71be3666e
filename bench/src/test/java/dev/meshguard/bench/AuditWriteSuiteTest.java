package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.time.Clock;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit-write suite end to end through bench/run's main, with a tiny configuration (a few seconds). */
class AuditWriteSuiteTest {
  private static final AuditWriteSuite.Settings TINY = new AuditWriteSuite.Settings(2_000, 2, 40, 4, 0, 1,
      new AuditWriteSuite.LatencySettings(0, 0, 1, Duration.ofMillis(100), 1024));

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfPositiveFiguresAndCleansUp() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"audit-write", "--quick", "--dir", dir.toString()},
        List.of(new AuditWriteSuite(Clock.SYSTEM, TINY, TINY)), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(stderr).isEqualTo(Main.OK);
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).as("stdout holds the figures alone").hasSize(1);
    JsonNode figures = new ObjectMapper().readTree(lines[0]);

    List<String> keys = new ArrayList<>();
    figures.fieldNames().forEachRemaining(keys::add);
    assertThat(keys).containsExactly("suite", "quick", "events", "producers", "rounds", "events_per_sec",
        "bytes_per_sec", "avg_batch", "baseline_events_per_sec", "baseline_bytes_per_sec", "ratio", "ratio_min",
        "ratio_max", "durable_events", "durable_producers", "durable_events_per_sec", "durable_avg_batch",
        "durable_baseline_events_per_sec", "durable_ratio", "durable_ratio_min", "durable_ratio_max",
        "append_median_ns", "append_p99_ns", "append_samples", "line_bytes", "fs_type", "work_dir", "java_version",
        "cpus");
    assertThat(figures.get("suite").asText()).isEqualTo("audit-write");
    assertThat(figures.get("quick").asBoolean()).isTrue();
    assertThat(figures.get("events").asLong()).isEqualTo(2_000);
    assertThat(figures.get("durable_producers").asLong()).isEqualTo(4);
    for (String key : keys) {
      JsonNode value = figures.get(key);
      if (value.isNumber()) {
        assertThat(value.asDouble()).as(key).isPositive();
      }
    }
    // A group commit covers at most one queue drain; a durable one at most one event per producer,
    // plus a checkpoint.
    assertThat(figures.get("avg_batch").asDouble()).isLessThanOrEqualTo(4096);
    assertThat(figures.get("durable_avg_batch").asDouble()).isLessThanOrEqualTo(5);
    assertThat(figures.get("ratio_min").asDouble()).isLessThanOrEqualTo(figures.get("ratio").asDouble());
    assertThat(figures.get("work_dir").asText()).isEqualTo(dir.toAbsolutePath().toString());

    assertThat(stderr).contains("audit-write: round 1: buffered ").contains("AuditAppendBenchmark.append");
    try (Stream<Path> left = Files.list(dir)) {
      assertThat(left).as("scratch files are deleted").isEmpty();
    }
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quota suite end to end through bench/run's main, tiny: memory and a real Redis, a few seconds. */
class QuotaSuiteTest {
  private static final QuotaSuite.Settings TINY = new QuotaSuite.Settings(List.of("memory", "redis"), 200, 2, 300);

  @TempDir
  Path dir;

  @Test
  void endsWithOneJsonLineOfLatencyRatiosAndRoundTrips() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"quota", "--quick", "--dir", dir.toString()},
        List.of(new QuotaSuite(TINY, TINY)), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(stderr).isEqualTo(Main.OK);
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).as("stdout holds the figures alone").hasSize(1);
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    JsonNode figures = json.get("figures");
    for (String key : List.of("memory_plain_us", "memory_quota_us", "redis_plain_us", "redis_quota_us")) {
      assertThat(figures.get(key).asDouble()).as(key).isPositive();
    }
    // One round trip each, give or take a stray turn on a loaded machine; two would be 2.0.
    assertThat(figures.get("redis_plain_round_trips").asDouble()).as(lines[0]).isBetween(1.0, 1.1);
    assertThat(figures.get("redis_plain_script_calls").asDouble()).as(lines[0]).isEqualTo(1.0);
    assertThat(figures.get("redis_quota_script_calls").asDouble()).as("descriptors and quota in one script")
        .isEqualTo(1.0);
    assertThat(figures.get("redis_quota_round_trips").asDouble()).as(lines[0]).isBetween(1.0, 1.1);
    assertThat(json.get("ratios").get("redis_quota_over_plain").asDouble()).isPositive();
    assertThat(json.get("goals").get("redis_extra_round_trips").get("met").asBoolean()).isTrue();
    assertThat(json.get("goals").get("memory_quota_over_plain").get("goal").asText()).isEqualTo("< 1.3");
    assertThat(stderr).contains("quota: memory round 2:").contains("quota: redis round 2:");
  }

  @Test
  void storesAreMemoryOrRedis() {
    assertThatThrownBy(() -> new QuotaSuite.Settings(List.of("disk"), 1, 1, 1))
        .hasMessage("stores are memory and/or redis, found [disk]");
  }

  @Test
  void scriptCallsAreCountedFromCommandstats() {
    assertThat(QuotaSuite.scriptCalls("""
        # Commandstats
        cmdstat_evalsha:calls=10,usec=5,usec_per_call=0.5
        cmdstat_incrby:calls=30,usec=5,usec_per_call=0.1
        cmdstat_eval:calls=2,usec=5,usec_per_call=2.5
        cmdstat_info:calls=4,usec=5,usec_per_call=1
        """)).isEqualTo(12);
  }

  @Test
  void scriptMicrosAreSummedOverScriptCommandsOnly() {
    assertThat(QuotaSuite.scriptMicros("""
        # Commandstats
        cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.0
        cmdstat_incrby:calls=30,usec=90,usec_per_call=3.0
        cmdstat_eval:calls=2,usec=40,usec_per_call=20.0
        cmdstat_info:calls=4,usec=8,usec_per_call=2.0
        """)).isEqualTo(540);
  }
}

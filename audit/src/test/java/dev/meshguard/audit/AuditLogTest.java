package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
  private final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T07:00:00.123456789Z"));

  @TempDir
  Path dir;

  private AuditEvent decision(String outcome, String path) {
    clock.advance(Duration.ofMillis(1));
    return new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision", outcome,
        new AuditEvent.Subject("spiffe://cluster.local/ns/foo/sa/bar", null, "10.0.0.1"),
        new AuditEvent.AuditObject("foo/app", "app.foo", "GET", path, null, null, null),
        new AuditEvent.PolicyRef("foo/allow-get", "0", "r1"), null, 42);
  }

  @Test
  void writesCanonicalLinesThatAnIndependentVerifierCanRecompute() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      assertThat(log.append(decision("allow", "/a"), Durability.DURABLE)).isEqualTo(AppendOutcome.WRITTEN);
      assertThat(log.append(decision("deny", "/b"), Durability.DURABLE)).isEqualTo(AppendOutcome.WRITTEN);
    }
    List<String> lines = Files.readAllLines(dir.resolve("audit-00000000000000000001.jsonl"));
    assertThat(lines).as("two events and the checkpoint written at close").hasSize(3);
    // Recompute as the README tells a third party to: strip the final hash member, hash prev || rest.
    byte[] prev = new byte[32];
    for (String line : lines) {
      int cut = line.lastIndexOf(",\"hash\":\"");
      byte[] canonical = (line.substring(0, cut) + "}").getBytes(StandardCharsets.UTF_8);
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(prev);
      sha.update(canonical);
      byte[] hash = sha.digest();
      JsonNode node = new ObjectMapper().readTree(line);
      assertThat(node.get("hash").asText()).isEqualTo(HexFormat.of().formatHex(hash));
      assertThat(node.get("prev").asText()).isEqualTo(HexFormat.of().formatHex(prev));
      prev = hash;
    }
    JsonNode first = new ObjectMapper().readTree(lines.get(0));
    assertThat(first.get("seq").asLong()).isEqualTo(1);
    assertThat(first.get("v").asInt()).isEqualTo(1);
    assertThat(first.get("time").asText()).isEqualTo("2026-11-28T07:00:00.124456789Z");
    assertThat(first.get("subject").get("source_ip").asText()).isEqualTo("10.0.0.1");
    assertThat(first.get("latency_us").asLong()).isEqualTo(42);
    assertThat(first.has("reason")).as("null members are omitted").isFalse();
    // Keys sorted at every level, hash last.
    assertThat(lines.get(0)).startsWith("{\"component\":\"authz\",\"id\":\"").endsWith("\"}");
    assertThat(lines.get(0).indexOf("\"hash\"")).isGreaterThan(lines.get(0).indexOf("\"v\""));
  }

  @Test
  void verifyPassesOnAnIntactLogAcrossRotatedSegments() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048), clock)) {
      for (int i = 0; i < 40; i++) {
        log.append(decision(i % 3 == 0 ? "deny" : "allow", "/p/" + i), Durability.DURABLE);
      }
    }
    assertThat(Segments.list(dir)).hasSizeGreaterThan(3);
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as(report.render()).isTrue();
    int segments = Segments.list(dir).size();
    // Every rotation seals the segment with a checkpoint, and close adds one more.
    assertThat(report.events()).isEqualTo(40 + segments);
    assertThat(report.checkpoints()).isEqualTo(segments);
    assertThat(report.render()).startsWith("OK: " + (40 + segments) + " events in " + segments + " segments")
        .endsWith(segments + " checkpoints signed by key " + report.keyId());
  }

  @Test
  void reopeningContinuesTheChain() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(decision("allow", "/1"), Durability.DURABLE);
    }
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(decision("allow", "/2"), Durability.DURABLE);
    }
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as(report.render()).isTrue();
    assertThat(report.events()).as("2 events, 2 checkpoints").isEqualTo(4);
  }

  @Test
  void bufferedEventsAreWrittenByClose() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      for (int i = 0; i < 500; i++) {
        assertThat(log.append(decision("allow", "/" + i), Durability.BUFFERED)).isEqualTo(AppendOutcome.QUEUED);
      }
    }
    assertThat(AuditVerifier.verifyDirectory(dir).events()).as("500 events and the closing checkpoint")
        .isEqualTo(501);
  }

  @Test
  void aFullQueueRejectsBufferedEventsAfterTheBoundAndCountsThem() throws Exception {
    AuditOptions options = AuditOptions.builder(dir).queueCapacity(1).maxWaitWhenFull(Duration.ZERO).build();
    int accepted = 0;
    int rejected = 0;
    try (AuditLog log = AuditLog.open(options, clock)) {
      for (int i = 0; i < 100_000 && rejected == 0; i++) {
        AppendOutcome outcome = log.append(decision("allow", "/" + i), Durability.BUFFERED);
        assertThat(outcome).isIn(AppendOutcome.QUEUED, AppendOutcome.REJECTED);
        if (outcome == AppendOutcome.QUEUED) {
          accepted++;
        } else {
          rejected++;
        }
      }
      assertThat(log.rejectedCount()).isEqualTo(rejected);
      assertThat(log.droppedCount()).isZero();
    }
    assertThat(rejected).as("the writer could not keep a one-slot queue empty").isPositive();
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as("refused events are the producer's to handle, not a gap: %s", report.render())
        .isTrue();
    assertThat(report.events()).as("every accepted event and the closing checkpoint").isEqualTo(accepted + 1L);
  }

  @Test
  void metricsCountWritesAndFsyncs() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock, registry)) {
      for (int i = 0; i < 3; i++) {
        log.append(decision("deny", "/" + i), Durability.DURABLE);
      }
      assertThat(registry.get("meshguard_audit_events_written").counter().count()).isEqualTo(3);
      assertThat(registry.get("meshguard_audit_bytes_written").counter().count())
          .isEqualTo((double) Files.size(Segments.list(dir).get(0)));
      assertThat(registry.get("meshguard_audit_fsync").timer().count()).isEqualTo(3);
      assertThat(registry.get("meshguard_audit_queue_depth").gauge().value()).isZero();
    }
    assertThat(registry.get("meshguard_audit_checkpoints_written").counter().count()).isEqualTo(1);
  }

  @Test
  void closedLogRejectsInsteadOfDroppingSilently() throws Exception {
    AuditLog log = AuditLog.open(AuditOptions.in(dir), clock);
    log.close();
    assertThat(log.append(decision("allow", "/late"), Durability.BUFFERED)).isEqualTo(AppendOutcome.REJECTED);
    assertThat(log.rejectedCount()).isEqualTo(1);
  }

  @Test
  void recoversFromAPartialTrailingLine() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(decision("allow", "/1"), Durability.DURABLE);
      log.append(decision("allow", "/2"), Durability.DURABLE);
    }
    Path segment = Segments.list(dir).get(0);
    // A crash mid-write: half of a line, no newline.
    Files.write(segment, "{\"component\":\"authz\",\"id\":\"01".getBytes(StandardCharsets.UTF_8),
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(AuditVerifier.verifyDirectory(dir).problem().kind()).isEqualTo(VerifyReport.Kind.TRUNCATED);

    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(decision("deny", "/3"), Durability.DURABLE);
    }
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as(report.render()).isTrue();
    // 2 events + checkpoint, then recovered + 1 event + checkpoint.
    assertThat(report.events()).isEqualTo(6);
    List<String> lines = Files.readAllLines(segment);
    JsonNode recovered = new ObjectMapper().readTree(lines.get(3));
    assertThat(recovered.get("kind").asText()).isEqualTo("recovered");
    assertThat(recovered.get("reason").asText()).contains("truncated a partial line of 29 bytes");
  }

  @Test
  void idsAreTimeOrderedUuidV7() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      ids.add(EventIds.next(clock));
    }
    assertThat(ids).isSorted().doesNotHaveDuplicates();
    assertThat(ids.get(0).charAt(14)).as("version nibble").isEqualTo('7');
    assertThat("89ab").contains(String.valueOf(ids.get(0).charAt(19)));
  }
}

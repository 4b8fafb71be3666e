package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.time.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  private final ManualClock clock = new ManualClock();

  @TempDir
  Path dir;

  private AuditEvent event(int i) {
    clock.advance(Duration.ofMillis(1));
    return new AuditEvent(clock.now(), EventIds.next(clock), "ca", "issue", "issued", null,
        new AuditEvent.AuditObject(null, null, null, null, null, "0a" + i, "spiffe://td/ns/a/sa/b"), null, null, 5);
  }

  private List<JsonNode> lines() throws Exception {
    List<JsonNode> nodes = new ArrayList<>();
    for (Path segment : Segments.list(dir)) {
      for (String line : Files.readAllLines(segment)) {
        nodes.add(new ObjectMapper().readTree(line));
      }
    }
    return nodes;
  }

  @Test
  void writesASignedCheckpointEveryNEvents() throws Exception {
    AuditOptions options = AuditOptions.builder(dir).checkpointEveryEvents(5).build();
    try (AuditLog log = AuditLog.open(options, clock)) {
      for (int i = 0; i < 12; i++) {
        log.append(event(i), Durability.DURABLE);
      }
    }
    List<JsonNode> lines = lines();
    List<Long> checkpointSeqs = lines.stream().filter(n -> n.get("kind").asText().equals("checkpoint"))
        .map(n -> n.get("seq").asLong()).toList();
    // After events 1-5 (seq 6), 6-10 (seq 12), and at close after 11-12 (seq 15).
    assertThat(checkpointSeqs).containsExactly(6L, 12L, 15L);
    JsonNode first = lines.get(5);
    assertThat(first.get("checkpoint").get("head_seq").asLong()).isEqualTo(5);
    assertThat(first.get("checkpoint").get("head_hash").asText()).isEqualTo(lines.get(4).get("hash").asText());
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as(report.render()).isTrue();
    assertThat(report.checkpoints()).isEqualTo(3);
  }

  @Test
  void writesACheckpointAfterTheIntervalWhenIdle() throws Exception {
    AuditOptions options = AuditOptions.builder(dir).checkpointInterval(Duration.ofSeconds(10)).build();
    try (AuditLog log = AuditLog.open(options, clock)) {
      log.append(event(1), Durability.DURABLE);
      clock.advance(Duration.ofSeconds(11));
      dev.meshguard.testkit.Await.until(Duration.ofSeconds(10), () -> log.writtenCount() == 2,
          () -> "a checkpoint written by the idle writer; written=" + log.writtenCount());
    }
  }

  @Test
  void keyIsCreated0600WithItsPublicHalfBeside() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(event(1), Durability.DURABLE);
    }
    Path key = dir.resolve("checkpoint-key.pem");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(Files.readString(dir.resolve("checkpoint-key.pub.pem"))).startsWith("-----BEGIN PUBLIC KEY-----");
  }

  @Test
  void aForgedSignatureIsDetected() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(event(1), Durability.DURABLE);
    }
    Path segment = Segments.list(dir).get(0);
    List<String> lines = new ArrayList<>(Files.readAllLines(segment));
    // Re-sign the checkpoint with another key and re-chain its hash: only the signature is wrong.
    Checkpoints.SigningKey other = Checkpoints.loadOrCreate(dir.resolve("other/key.pem"));
    JsonNode checkpointLine = new ObjectMapper().readTree(lines.get(1));
    AuditEvent.Checkpoint forged = Checkpoints.sign(other, 1, lines.get(0).substring(lines.get(0).length() - 66,
        lines.get(0).length() - 2), java.time.Instant.parse(checkpointLine.get("time").asText()), 0);
    String replaced = lines.get(1).replace(checkpointLine.get("checkpoint").get("signature").asText(),
        forged.signature());
    String prev = checkpointLine.get("prev").asText();
    String body = replaced.substring(0, replaced.lastIndexOf(",\"hash\":\""));
    String hash = EventLine.recomputeHash(prev, (body + ",\"hash\":\"" + "0".repeat(64) + "\"}").getBytes());
    lines.set(1, body + ",\"hash\":\"" + hash + "\"}");
    Files.write(segment, lines);

    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.problem().kind()).isEqualTo(VerifyReport.Kind.BAD_SIGNATURE);
    assertThat(report.problem().line()).isEqualTo(2);
  }

  @Test
  void aLogSignedByAnotherKeyFailsAgainstTheTrustedKey() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(event(1), Durability.DURABLE);
    }
    Checkpoints.SigningKey trusted = Checkpoints.loadOrCreate(dir.resolve("trusted/key.pem"));
    VerifyReport report = AuditVerifier.verify(Segments.list(dir), trusted.publicKey());
    assertThat(report.problem().kind()).isEqualTo(VerifyReport.Kind.BAD_SIGNATURE);
    assertThat(report.problem().detail()).contains("not by the trusted key " + trusted.keyId());
  }

  @Test
  void withoutAKeyTheReportSaysSignaturesWereNotChecked() throws Exception {
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      log.append(event(1), Durability.DURABLE);
    }
    VerifyReport report = AuditVerifier.verify(Segments.list(dir), null);
    assertThat(report.ok()).isTrue();
    assertThat(report.render()).contains("checkpoint signatures NOT checked");
  }

  @Test
  void droppedBestEffortEventsAreAVisibleGap() throws Exception {
    AuditOptions options = AuditOptions.builder(dir).queueCapacity(1).build();
    int dropped = 0;
    try (AuditLog log = AuditLog.open(options, clock)) {
      for (int i = 0; i < 2000 && dropped == 0; i++) {
        if (log.append(event(i), Durability.BEST_EFFORT) == AppendOutcome.DROPPED) {
          dropped++;
        }
      }
      assertThat(log.droppedCount()).isPositive();
    }
    assertThat(dropped).isPositive();
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.problem().kind()).isEqualTo(VerifyReport.Kind.GAP);
    assertThat(report.problem().detail()).startsWith(dropped + " best-effort events were dropped");
  }
}

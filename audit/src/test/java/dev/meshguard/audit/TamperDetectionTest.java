package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any single edit, deletion, insertion, reorder or truncation of a segment is detected, and
 * located at the damaged line. Random positions from a fixed seed per repetition.
 */
class TamperDetectionTest {
  private static final int EVENTS = 30;

  @TempDir
  Path dir;

  private Path segment;
  private List<String> lines;

  @BeforeEach
  void writeLog() throws Exception {
    ManualClock clock = new ManualClock();
    try (AuditLog log = AuditLog.open(AuditOptions.in(dir), clock)) {
      for (int i = 0; i < EVENTS; i++) {
        clock.advance(Duration.ofMillis(3));
        log.append(new AuditEvent(clock.now(), EventIds.next(clock), "ratelimit", "throttle",
            i % 2 == 0 ? "ok" : "over_limit", null,
            new AuditEvent.AuditObject(null, null, null, null, "tenant=acme,path=/" + i, null, null), null, null, i),
            Durability.DURABLE);
      }
    }
    segment = Segments.list(dir).get(0);
    lines = new ArrayList<>(Files.readAllLines(segment));
    assertThat(AuditVerifier.verifyDirectory(dir).ok()).isTrue();
  }

  private VerifyReport.Problem verifyAfter(List<String> tampered) throws Exception {
    Files.writeString(segment, String.join("\n", tampered) + "\n", StandardCharsets.UTF_8);
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as("tampering must be detected").isFalse();
    return report.problem();
  }

  @RepeatedTest(10)
  void editingAnyFieldIsDetectedAtThatLine(org.junit.jupiter.api.RepetitionInfo info) throws Exception {
    int at = new Random(info.getCurrentRepetition()).nextInt(EVENTS);
    lines.set(at, lines.get(at).replace("\"latency_us\":" + at, "\"latency_us\":" + (at + 1000)));
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.EDITED);
    assertThat(problem.line()).isEqualTo(at + 1);
    assertThat(problem.seq()).isEqualTo(at + 1);
  }

  @RepeatedTest(10)
  void deletingAnyLineIsDetected(org.junit.jupiter.api.RepetitionInfo info) throws Exception {
    int at = new Random(100 + info.getCurrentRepetition()).nextInt(EVENTS - 1) + 1;
    lines.remove(at);
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.DELETED);
    assertThat(problem.line()).isEqualTo(at + 1);
    assertThat(problem.detail()).isEqualTo("found seq " + (at + 2) + ": events " + (at + 1) + " are missing");
  }

  @Test
  void deletingTheFirstLineIsDetected() throws Exception {
    lines.remove(0);
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.DELETED);
    assertThat(problem.line()).isEqualTo(1);
  }

  @RepeatedTest(10)
  void swappingTwoLinesIsDetected(org.junit.jupiter.api.RepetitionInfo info) throws Exception {
    int at = new Random(200 + info.getCurrentRepetition()).nextInt(EVENTS - 1);
    Collections.swap(lines, at, at + 1);
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.DELETED);
    assertThat(problem.line()).isEqualTo(at + 1);
  }

  @Test
  void duplicatingALineIsDetectedAsReordered() throws Exception {
    lines.add(10, lines.get(9));
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.REORDERED);
    assertThat(problem.line()).isEqualTo(11);
  }

  @Test
  void rewritingALineAndItsHashIsStillDetectedByTheNextLink() throws Exception {
    // An attacker who edits an event and recomputes its hash breaks the next event's link.
    String edited = lines.get(5).replace("over_limit", "ok");
    String prev = lines.get(4).substring(lines.get(4).lastIndexOf(":\"") + 2, lines.get(4).length() - 2);
    String rehashed = EventLine.recomputeHash(prev, edited.getBytes(StandardCharsets.UTF_8));
    lines.set(5, edited.substring(0, edited.lastIndexOf(":\"") + 2) + rehashed + "\"}");
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.EDITED);
    assertThat(problem.line()).isEqualTo(7);
  }

  @Test
  void truncationMidLineIsDetected() throws Exception {
    byte[] bytes = Files.readAllBytes(segment);
    Files.write(segment, java.util.Arrays.copyOf(bytes, bytes.length - 20));
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.problem().kind()).isEqualTo(VerifyReport.Kind.TRUNCATED);
    assertThat(report.problem().line()).as("the closing checkpoint's line").isEqualTo(EVENTS + 1);
  }

  @Test
  void garbageLineIsMalformed() throws Exception {
    lines.set(3, "not json at all");
    VerifyReport.Problem problem = verifyAfter(lines);
    assertThat(problem.kind()).isEqualTo(VerifyReport.Kind.MALFORMED);
    assertThat(problem.line()).isEqualTo(4);
    assertThat(problem.render()).startsWith(segment + ":4: seq 4: malformed: ");
  }
}

package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.AuditOptions;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SegmentTailerTest {
  private static final Duration POLL = Duration.ofMillis(5);
  private final ManualClock clock = new ManualClock();

  @TempDir
  Path dir;

  private static List<Long> seqs(List<LogLine> lines) {
    return lines.stream().map(LogLine::seq).toList();
  }

  private static List<Long> range(long first, long last) {
    return LongStream.rangeClosed(first, last).boxed().toList();
  }

  @Test
  void returnsTheCompleteLinesAfterTheCursorAsWritten() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        SegmentTailer tailer = SegmentTailer.after(dir, 4, POLL, clock)) {
      log.append(10);
      List<LogLine> lines = tailer.poll(100);

      assertThat(seqs(lines)).isEqualTo(range(5, 10));
      assertThat(lines).extracting(LogLine::id).isEqualTo(log.ids().subList(4, 10));
      assertThat(lines).extracting(line -> line.json() + "\n").isEqualTo(log.lines().subList(4, 10));
      assertThat(tailer.position()).isEqualTo(10);
      assertThat(tailer.poll(100)).isEmpty();
    }
  }

  @Test
  void pollReturnsAtMostMaxLinesAndContinuesWhereItStopped() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      log.append(8);
      assertThat(seqs(tailer.poll(3))).isEqualTo(range(1, 3));
      assertThat(seqs(tailer.poll(3))).isEqualTo(range(4, 6));
      assertThat(seqs(tailer.poll(3))).isEqualTo(range(7, 8));
      log.append(1);
      assertThat(seqs(tailer.poll(3))).isEqualTo(range(9, 9));
    }
  }

  @Test
  void followsTheWriterAcrossRotatedSegments() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048));
        SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      List<LogLine> seen = new ArrayList<>();
      // Interleave writing and reading so the tailer meets each rotation while the writer is live.
      for (int round = 0; round < 12; round++) {
        log.append(1 + round % 4);
        seen.addAll(tailer.poll(2));
      }
      log.finish(); // its checkpoint is the last line
      for (List<LogLine> more = tailer.poll(2); !more.isEmpty(); more = tailer.poll(2)) {
        seen.addAll(more);
      }

      assertThat(log.segmentCount()).isGreaterThan(3);
      assertThat(seqs(seen)).isEqualTo(range(1, log.lastSeq()));
      assertThat(seen).extracting(LogLine::id).isEqualTo(log.diskIds()).containsAll(log.ids());
    }
  }

  @Test
  void aCursorInALaterSegmentStartsThere() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048))) {
      log.append(40);
      log.finish();
      assertThat(log.segmentCount()).isGreaterThan(3);
      List<String> onDisk = log.lines();
      try (SegmentTailer tailer = SegmentTailer.after(dir, 25, POLL, clock)) {
        List<LogLine> lines = tailer.poll(1000);
        assertThat(seqs(lines)).isEqualTo(range(26, onDisk.size()));
        assertThat(lines).extracting(line -> line.json() + "\n").isEqualTo(onDisk.subList(25, onDisk.size()));
      }
    }
  }

  @Test
  void aPartialTrailingLineIsNotReturnedUntilItsNewlineIsWritten() throws Exception {
    TestLog.HalfWritten cut = TestLog.writeThreeEventsAndCutTheLastLineInHalf(dir);
    List<String> lines = cut.lines();
    int n = lines.size();
    Path segment = cut.segment();
    byte[] last = cut.lastLine();
    try (SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      assertThat(seqs(tailer.poll(100))).isEqualTo(range(1, n - 1));
      assertThat(tailer.poll(100)).isEmpty();

      // The rest of the line without its newline: still not a line.
      Files.write(segment, Arrays.copyOfRange(last, last.length / 2, last.length - 1), StandardOpenOption.APPEND);
      assertThat(tailer.poll(100)).isEmpty();
      assertThat(tailer.lastSeqOnDisk()).isEqualTo(n - 1);

      Files.write(segment, new byte[] {'\n'}, StandardOpenOption.APPEND);
      List<LogLine> completed = tailer.poll(100);
      assertThat(seqs(completed)).isEqualTo(range(n, n));
      assertThat(completed.get(0).json() + "\n").isEqualTo(lines.get(n - 1));
    }
  }

  @Test
  void fromEndReturnsOnlyLinesCompletedLater() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048))) {
      log.append(30);
      long end = log.lastSeq();
      try (SegmentTailer tailer = SegmentTailer.fromEnd(dir, POLL, clock)) {
        assertThat(tailer.position()).isEqualTo(end);
        assertThat(tailer.poll(100)).isEmpty();
        log.append(5);
        log.finish();
        List<LogLine> later = tailer.poll(100);
        assertThat(seqs(later)).isEqualTo(range(end + 1, log.lastSeq()));
        assertThat(later).extracting(LogLine::id).containsAll(log.ids().subList(30, 35));
      }
    }
  }

  @Test
  void fromEndOnAnEmptyDirectoryReturnsEverythingWrittenLater() throws Exception {
    Path missing = dir.resolve("not-yet");
    try (SegmentTailer tailer = SegmentTailer.fromEnd(missing, POLL, clock)) {
      assertThat(tailer.poll(10)).isEmpty();
      assertThat(tailer.lastSeqOnDisk()).isZero();
      try (TestLog log = TestLog.open(AuditOptions.in(missing))) {
        log.append(2);
        assertThat(seqs(tailer.poll(10))).isEqualTo(range(1, 2));
      }
    }
  }

  @Test
  void lastSeqOnDiskReadsTheEndOfTheNewestSegment() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048));
        SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      assertThat(tailer.lastSeqOnDisk()).isZero();
      log.append(33);
      log.finish();
      assertThat(log.lastSeq()).as("rotations and close add checkpoints").isGreaterThan(33);
      assertThat(tailer.lastSeqOnDisk()).isEqualTo(log.lastSeq());
      assertThat(tailer.position()).as("probing does not move the tailer").isZero();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "not JSON           | garbage                                        | not valid JSON",
      "an array           | [1,2]                                          | not a JSON object",
      "two objects        | {\"id\":\"x\",\"seq\":4}{}                     | not a single JSON object",
      "no seq             | {\"id\":\"x\"}                                 | no positive seq or no id",
      "no id              | {\"seq\":4}                                    | no positive seq or no id",
      "seq goes back      | {\"id\":\"x\",\"seq\":2}                       | seq 2 follows seq {last}: the sequence goes back",
  })
  void damageIsReportedWithItsPlaceAndNeverSkipped(String what, String badLine, String message) throws Exception {
    long last;
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      log.append(3);
      log.finish();
      last = log.lastSeq();
    }
    Path segment = dir.resolve("audit-00000000000000000001.jsonl");
    long badOffset = Files.size(segment);
    Files.write(segment, (badLine + "\n").getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);

    try (SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      assertThat(seqs(tailer.poll(100))).as("the lines before the damage").isEqualTo(range(1, last));
      for (int i = 0; i < 2; i++) {
        assertThatThrownBy(() -> tailer.poll(100))
            .isInstanceOfSatisfying(SegmentFormatException.class, e -> {
              assertThat(e.segment()).isEqualTo(segment);
              assertThat(e.byteOffset()).isEqualTo(badOffset);
            })
            .hasMessageStartingWith(segment + " at byte " + badOffset + ": ")
            .hasMessageContaining(message.replace("{last}", Long.toString(last)));
      }
      assertThat(tailer.position()).isEqualTo(last);
    }
  }

  @Test
  void aPartialLineInASegmentTheWriterHasLeftIsDamage() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048))) {
      log.append(20);
    }
    Path first = dir.resolve("audit-00000000000000000001.jsonl");
    long size = Files.size(first);
    Files.write(first, "{\"id\":\"cut".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);

    try (SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      List<LogLine> lines = tailer.poll(100);
      assertThat(lines).isNotEmpty();
      long lastInFirst = lines.get(lines.size() - 1).seq();
      assertThat(seqs(lines)).isEqualTo(range(1, lastInFirst));
      assertThatThrownBy(() -> tailer.poll(100))
          .isInstanceOf(SegmentFormatException.class)
          .hasMessage(first + " at byte " + size + ": a partial line of 10 bytes in a segment the writer has left for "
              + "audit-" + String.format("%020d", lastInFirst + 1) + ".jsonl");
    }
  }

  @Test
  void aLineLongerThanTheLimitIsDamageNotAnEndlessBuffer() throws Exception {
    Files.writeString(dir.resolve("audit-00000000000000000001.jsonl"),
        "{\"id\":\"" + "x".repeat(SegmentTailer.MAX_LINE_BYTES) + "\",\"seq\":1}\n");
    try (SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      assertThatThrownBy(() -> tailer.poll(1))
          .isInstanceOf(SegmentFormatException.class)
          .hasMessageEndingWith("at byte 0: a line longer than " + SegmentTailer.MAX_LINE_BYTES + " bytes");
    }
  }

  @Test
  void awaitReturnsAsSoonAsALineIsWritten() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, Clock.SYSTEM)) {
      CompletableFuture<List<LogLine>> awaited = CompletableFuture.supplyAsync(() -> {
        try {
          return tailer.await(10, Duration.ofSeconds(30));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      log.append(1);
      assertThat(seqs(awaited.get(10, TimeUnit.SECONDS))).isEqualTo(range(1, 1));
    }
  }

  @Test
  void wakeUpEndsAnEmptyWait() throws Exception {
    try (SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock)) {
      // On the manual clock the wait never times out by itself.
      CompletableFuture<List<LogLine>> awaited = CompletableFuture.supplyAsync(() -> {
        try {
          return tailer.await(10, Duration.ofHours(1));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      tailer.wakeUp();
      assertThat(awaited.get(10, TimeUnit.SECONDS)).isEmpty();
    }
  }

  @Test
  void argumentsAreChecked() throws Exception {
    assertThatThrownBy(() -> SegmentTailer.after(dir, -1, POLL, clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("seq must not be negative, found -1");
    assertThatThrownBy(() -> SegmentTailer.after(dir, 0, Duration.ZERO, clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("pollInterval must be positive, found PT0S");
    SegmentTailer tailer = SegmentTailer.after(dir, 0, POLL, clock);
    assertThatThrownBy(() -> tailer.poll(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxLines must be at least 1, found 0");
    tailer.close();
    assertThatThrownBy(() -> tailer.poll(1)).isInstanceOf(IllegalStateException.class);
  }
}

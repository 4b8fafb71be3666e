package dev.meshguard.audit.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.Durability;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.time.ManualClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A real audit log in a temporary directory, written with durable appends, and what is on disk.
 * The log adds lines of its own (signed checkpoints at every rotation and at close), so tests
 * compare what a sink shipped with {@link #lines()} and {@link #diskIds()}, and check that every
 * appended id ({@link #ids()}) is among them.
 */
final class TestLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T07:00:00Z"));
  private final Path dir;
  private final List<String> ids = new ArrayList<>();
  private AuditLog log;
  private int written;

  private TestLog(AuditOptions options) {
    this.dir = options.directory();
  }

  static TestLog open(AuditOptions options) throws IOException {
    TestLog log = new TestLog(options);
    log.log = AuditLog.open(options, log.clock);
    return log;
  }

  Path dir() {
    return dir;
  }

  /** Appends {@code n} events durably (on disk when this returns); returns their ids in order. */
  List<String> append(int n) {
    List<String> appended = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      clock.advance(Duration.ofMillis(1));
      written++;
      AuditEvent event = new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision",
          written % 3 == 0 ? "deny" : "allow",
          new AuditEvent.Subject("spiffe://cluster.local/ns/foo/sa/bar", null, "10.0.0." + (written % 250)),
          new AuditEvent.AuditObject("foo/app", "app.foo", "GET", "/items/" + written, null, null, null),
          new AuditEvent.PolicyRef("foo/allow-get", "0", "r1"), "rule 0 of foo/allow-get matched", written);
      AppendOutcome outcome = log.append(event, Durability.DURABLE);
      if (outcome != AppendOutcome.WRITTEN) {
        throw new AssertionError("append " + written + " was " + outcome);
      }
      appended.add(event.id());
    }
    ids.addAll(appended);
    return appended;
  }

  /** The ids of every line on disk, in chain order: the appended events and the log's checkpoints. */
  List<String> diskIds() {
    List<String> ids = new ArrayList<>();
    for (String line : lines()) {
      try {
        ids.add(JSON.readTree(line).get("id").asText());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return ids;
  }

  /** The seq of the last complete line on disk (the lines are numbered from 1). */
  long lastSeq() {
    return lines().size();
  }

  /** Every id appended so far, in order. */
  List<String> ids() {
    return List.copyOf(ids);
  }

  /** Every line on disk, in chain order, each with its newline. */
  List<String> lines() {
    try {
      List<String> lines = new ArrayList<>();
      for (SegmentFiles.Segment segment : SegmentFiles.list(dir)) {
        String content = Files.readString(segment.path(), StandardCharsets.UTF_8);
        int start = 0;
        for (int nl = content.indexOf('\n'); nl >= 0; nl = content.indexOf('\n', start)) {
          lines.add(content.substring(start, nl + 1));
          start = nl + 1;
        }
      }
      return lines;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int segmentCount() {
    try {
      return SegmentFiles.list(dir).size();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The newest segment file. */
  Path lastSegment() {
    try {
      List<SegmentFiles.Segment> segments = SegmentFiles.list(dir);
      return segments.get(segments.size() - 1).path();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    finish();
  }

  /** Closes the log, which appends a signed checkpoint first: nothing is written after. Idempotent. */
  void finish() {
    if (log != null) {
      log.close();
      log = null;
    }
  }

  /**
   * A log whose writer was interrupted half way through its last line, as a crash mid-write leaves it.
   *
   * @param lines the complete lines as written before the cut
   * @param segment the segment that was cut
   * @param lastLine the last line's bytes (with its newline), half of which remain on disk
   */
  record HalfWritten(List<String> lines, Path segment, byte[] lastLine) {}

  /** Writes three events (and the closing checkpoint), then cuts the last line in half. */
  static HalfWritten writeThreeEventsAndCutTheLastLineInHalf(Path dir) throws Exception {
    List<String> lines;
    try (TestLog log = TestLog.open(dev.meshguard.audit.AuditOptions.in(dir))) {
      log.append(3);
      log.finish();
      lines = log.lines();
    }
    Path segment = dir.resolve("audit-00000000000000000001.jsonl");
    byte[] last = lines.get(lines.size() - 1).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    long lastStart = java.nio.file.Files.size(segment) - last.length;
    try (java.nio.channels.FileChannel channel =
        java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(lastStart + last.length / 2);
    }
    return new HalfWritten(lines, segment, last);
  }
}

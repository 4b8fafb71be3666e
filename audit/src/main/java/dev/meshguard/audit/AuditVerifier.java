package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Checks every link of an audit log's hash chain across its segments (see {@link EventLine} for
 * the rule), and reports the first broken place: an edited line (its hash no longer matches), a
 * deleted one (a sequence gap), a reordered or inserted one (a sequence that goes back), or a
 * truncated segment (a last line without its newline).
 */
public final class AuditVerifier {
  private AuditVerifier() {}

  /** Verifies the log whose segments are in {@code directory}. */
  public static VerifyReport verifyDirectory(Path directory) throws IOException {
    return verify(Segments.list(directory));
  }

  /** Verifies {@code segments}, which must be in chain order and start at the log's first event. */
  public static VerifyReport verify(List<Path> segments) throws IOException {
    long expectedSeq = 1;
    String prevHash = EventLine.GENESIS_PREV;
    long events = 0;
    for (Path segment : segments) {
      byte[] bytes = Files.readAllBytes(segment);
      int lineNumber = 0;
      int start = 0;
      boolean firstInSegment = true;
      while (start < bytes.length) {
        lineNumber++;
        int newline = indexOf(bytes, (byte) '\n', start);
        if (newline < 0) {
          return new VerifyReport(events, segments.size(), new VerifyReport.Problem(segment, lineNumber, expectedSeq,
              VerifyReport.Kind.TRUNCATED, "the last line has no newline: the segment was cut mid-event"));
        }
        byte[] line = Arrays.copyOfRange(bytes, start, newline);
        start = newline + 1;
        VerifyReport.Problem problem = check(segment, lineNumber, line, expectedSeq, prevHash, firstInSegment);
        if (problem != null) {
          return new VerifyReport(events, segments.size(), problem);
        }
        firstInSegment = false;
        prevHash = EventLine.writtenHash(line);
        expectedSeq++;
        events++;
      }
    }
    return new VerifyReport(events, segments.size(), null);
  }

  private static VerifyReport.Problem check(Path segment, int lineNumber, byte[] line, long expectedSeq,
      String prevHash, boolean firstInSegment) {
    JsonNode node;
    try {
      node = EventLine.parse(line);
    } catch (JsonProcessingException e) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.MALFORMED,
          "not a JSON object: " + e.getOriginalMessage());
    }
    if (node == null || !node.path("seq").canConvertToLong() || !node.path("hash").isTextual()) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.MALFORMED,
          "not an audit event (no seq or hash)");
    }
    long seq = node.get("seq").asLong();
    if (seq > expectedSeq) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.DELETED,
          "found seq " + seq + ": events " + expectedSeq + (seq - 1 > expectedSeq ? ".." + (seq - 1) : "")
              + " are missing");
    }
    if (seq < expectedSeq) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.REORDERED,
          "found seq " + seq + " after seq " + (expectedSeq - 1) + ": events were reordered or inserted");
    }
    if (firstInSegment && Segments.firstSeq(segment) != seq) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.EDITED,
          "the segment's name says it starts at seq " + Segments.firstSeq(segment) + " but its first event is " + seq);
    }
    String recomputed;
    try {
      recomputed = EventLine.recomputeHash(prevHash, line);
    } catch (IllegalArgumentException e) {
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.MALFORMED, e.getMessage());
    }
    String written = EventLine.writtenHash(line);
    if (!recomputed.equals(written)) {
      boolean prevMatches = prevHash.equals(node.path("prev").asText());
      return new VerifyReport.Problem(segment, lineNumber, expectedSeq, VerifyReport.Kind.EDITED, prevMatches
          ? "the event's content does not match its hash (written " + abbreviate(written) + ", computed "
              + abbreviate(recomputed) + ")"
          : "its prev (" + abbreviate(node.path("prev").asText()) + ") is not the hash of the event before ("
              + abbreviate(prevHash) + ")");
    }
    return null;
  }

  private static String abbreviate(String hash) {
    return hash.length() > 16 ? hash.substring(0, 16) + "..." : hash;
  }

  private static int indexOf(byte[] bytes, byte b, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }
}

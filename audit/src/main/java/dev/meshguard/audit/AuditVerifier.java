package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.time.format.DateTimeParseException;
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

  /**
   * Verifies the log whose segments are in {@code directory}, checking checkpoint signatures
   * against the public key beside them ({@code checkpoint-key.pub.pem}) when there is one.
   */
  public static VerifyReport verifyDirectory(Path directory) throws IOException {
    Path publicKey = Checkpoints.publicKeyFile(directory.resolve(AuditOptions.DEFAULT_CHECKPOINT_KEY_FILE));
    return verify(Segments.list(directory), Files.exists(publicKey) ? Checkpoints.readPublicKey(publicKey) : null);
  }

  /**
   * Verifies {@code segments}, which must be in chain order and start at the log's first event.
   *
   * @param publicKey the key checkpoints must be signed with; null to skip signature checks (the
   *     report says so)
   */
  public static VerifyReport verify(List<Path> segments, PublicKey publicKey) throws IOException {
    String keyId = publicKey == null ? null : Checkpoints.keyId(publicKey);
    long expectedSeq = 1;
    String prevHash = EventLine.GENESIS_PREV;
    long events = 0;
    long checkpoints = 0;
    for (Path segment : segments) {
      byte[] bytes = Files.readAllBytes(segment);
      int lineNumber = 0;
      int start = 0;
      boolean firstInSegment = true;
      while (start < bytes.length) {
        lineNumber++;
        int newline = indexOf(bytes, (byte) '\n', start);
        if (newline < 0) {
          return new VerifyReport(events, segments.size(), checkpoints, keyId, new VerifyReport.Problem(segment,
              lineNumber, expectedSeq, VerifyReport.Kind.TRUNCATED,
              "the last line has no newline: the segment was cut mid-event"));
        }
        byte[] line = Arrays.copyOfRange(bytes, start, newline);
        start = newline + 1;
        JsonNode[] parsed = new JsonNode[1];
        VerifyReport.Problem problem =
            check(segment, lineNumber, line, expectedSeq, prevHash, firstInSegment, parsed);
        if (problem == null && isCheckpoint(parsed[0])) {
          problem = checkCheckpoint(segment, lineNumber, parsed[0], expectedSeq, prevHash, publicKey, keyId);
          checkpoints += problem == null && publicKey != null ? 1 : 0;
        }
        if (problem != null) {
          return new VerifyReport(events, segments.size(), checkpoints, keyId, problem);
        }
        firstInSegment = false;
        prevHash = EventLine.writtenHash(line);
        expectedSeq++;
        events++;
      }
    }
    return new VerifyReport(events, segments.size(), checkpoints, keyId, null);
  }

  private static boolean isCheckpoint(JsonNode node) {
    return "audit".equals(node.path("component").asText()) && "checkpoint".equals(node.path("kind").asText());
  }

  private static VerifyReport.Problem checkCheckpoint(Path segment, int lineNumber, JsonNode node, long seq,
      String prevHash, PublicKey publicKey, String keyId) {
    JsonNode c = node.path("checkpoint");
    AuditEvent.Checkpoint checkpoint = new AuditEvent.Checkpoint(c.path("head_seq").asLong(-1),
        c.path("head_hash").asText(), c.path("dropped").asLong(), c.path("key_id").asText(),
        c.path("signature").asText());
    if (checkpoint.headSeq() != seq - 1 || !checkpoint.headHash().equals(prevHash)) {
      return new VerifyReport.Problem(segment, lineNumber, seq, VerifyReport.Kind.EDITED,
          "the checkpoint names head seq " + checkpoint.headSeq() + " but follows seq " + (seq - 1));
    }
    if (publicKey != null) {
      if (!checkpoint.keyId().equals(keyId)) {
        return new VerifyReport.Problem(segment, lineNumber, seq, VerifyReport.Kind.BAD_SIGNATURE,
            "signed by key " + checkpoint.keyId() + ", not by the trusted key " + keyId);
      }
      Instant time;
      try {
        time = Instant.parse(node.path("time").asText());
      } catch (DateTimeParseException e) {
        return new VerifyReport.Problem(segment, lineNumber, seq, VerifyReport.Kind.MALFORMED, "bad time");
      }
      if (!Checkpoints.verify(publicKey, checkpoint, time)) {
        return new VerifyReport.Problem(segment, lineNumber, seq, VerifyReport.Kind.BAD_SIGNATURE,
            "the checkpoint's ECDSA signature does not verify with key " + keyId);
      }
    }
    if (checkpoint.dropped() > 0) {
      return new VerifyReport.Problem(segment, lineNumber, seq, VerifyReport.Kind.GAP,
          checkpoint.dropped() + " best-effort events were dropped (queue full) before seq " + seq);
    }
    return null;
  }

  private static VerifyReport.Problem check(Path segment, int lineNumber, byte[] line, long expectedSeq,
      String prevHash, boolean firstInSegment, JsonNode[] parsed) {
    JsonNode node;
    try {
      node = EventLine.parse(line);
      parsed[0] = node;
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

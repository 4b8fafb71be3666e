package dev.meshguard.audit;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The result of verifying an audit log: OK with counts, or the first broken place.
 *
 * @param events chained events checked (checkpoints included)
 * @param segments segment files read
 * @param checkpoints checkpoints whose signature verified
 * @param keyId the key the checkpoints were checked against; null when no public key was available
 * @param problem the first problem found; null when the log verifies
 */
public record VerifyReport(long events, int segments, long checkpoints, String keyId, Problem problem) {

  public boolean ok() {
    return problem == null;
  }

  /** What is wrong with a log. */
  public enum Kind {
    /** A line's content no longer matches its hash, or its link to the line before. */
    EDITED,
    /** Sequence numbers skip: events were removed. */
    DELETED,
    /** A sequence number goes back: events were moved or inserted. */
    REORDERED,
    /** A segment ends in the middle of a line. */
    TRUNCATED,
    /** A line is not an audit event at all. */
    MALFORMED,
    /** A checkpoint's signature does not verify, or it was signed by another key. */
    BAD_SIGNATURE,
    /** A checkpoint records events dropped by best-effort producers: the log is knowingly incomplete. */
    GAP
  }

  /**
   * The first broken place.
   *
   * @param segment the segment file
   * @param line 1-based line in that file
   * @param seq the sequence number expected there
   * @param kind what kind of damage it looks like
   * @param detail what exactly does not match
   */
  public record Problem(Path segment, int line, long seq, Kind kind, String detail) {
    public String render() {
      return segment + ":" + line + ": seq " + seq + ": " + kind.name().toLowerCase(Locale.ROOT).replace('_', ' ')
          + ": " + detail;
    }
  }

  public String render() {
    if (!ok()) {
      return "FAILED: " + problem.render();
    }
    return "OK: " + events + " events in " + segments + " segments, chain and hashes intact; "
        + (keyId == null
            ? "checkpoint signatures NOT checked (no public key: pass --public-key)"
            : checkpoints + " checkpoints signed by key " + keyId);
  }
}

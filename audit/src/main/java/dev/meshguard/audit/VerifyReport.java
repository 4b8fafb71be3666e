package dev.meshguard.audit;

import java.nio.file.Path;

/**
 * The result of verifying an audit log: OK with counts, or the first broken place.
 *
 * @param events chained events checked
 * @param segments segment files read
 * @param problem the first problem found; null when the log verifies
 */
public record VerifyReport(long events, int segments, Problem problem) {

  public boolean ok() {
    return problem == null;
  }

  /** What is wrong with a log. */
  public enum Kind { EDITED, DELETED, REORDERED, TRUNCATED, MALFORMED }

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
      return segment + ":" + line + ": seq " + seq + ": " + kind.name().toLowerCase(java.util.Locale.ROOT) + ": "
          + detail;
    }
  }

  public String render() {
    if (ok()) {
      return "OK: " + events + " events in " + segments + " segments, chain and hashes intact";
    }
    return "FAILED: " + problem.render();
  }
}

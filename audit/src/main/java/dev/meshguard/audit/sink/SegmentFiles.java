package dev.meshguard.audit.sink;

import dev.meshguard.audit.Segments;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The segment files of an audit directory as a reader sees them: {@code audit-<first seq, 20
 * digits>.jsonl}, in chain order, each with the first sequence number its name claims. The naming
 * rule itself is {@link Segments}'.
 */
final class SegmentFiles {
  /** One segment file and the first sequence number its name claims. */
  record Segment(Path path, long firstSeq) {}

  private SegmentFiles() {}

  /** The segments in {@code directory}, ordered by first seq; empty when the directory does not exist yet. */
  static List<Segment> list(Path directory) throws IOException {
    List<Segment> segments = new ArrayList<>();
    for (Path path : Segments.list(directory)) {
      segments.add(new Segment(path, Segments.firstSeq(path)));
    }
    return segments;
  }
}

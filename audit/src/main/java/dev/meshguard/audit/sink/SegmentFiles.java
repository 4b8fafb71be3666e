package dev.meshguard.audit.sink;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The segment files of an audit directory as a reader sees them: {@code audit-<first seq, 20
 * digits>.jsonl}, in chain order. The naming rule belongs to {@code dev.meshguard.audit.Segments};
 * this reads the directory by that rule until the audit package exposes it publicly.
 */
final class SegmentFiles {
  private static final Pattern NAME = Pattern.compile("audit-(\\d{20})\\.jsonl");

  /** One segment file and the first sequence number its name claims. */
  record Segment(Path path, long firstSeq) {}

  private SegmentFiles() {}

  /** The segments in {@code directory}, ordered by first seq; empty when the directory does not exist yet. */
  static List<Segment> list(Path directory) throws IOException {
    List<Segment> segments = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "audit-*.jsonl")) {
      for (Path path : stream) {
        Matcher m = NAME.matcher(path.getFileName().toString());
        if (m.matches()) {
          segments.add(new Segment(path, Long.parseLong(m.group(1))));
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    segments.sort(Comparator.comparingLong(Segment::firstSeq));
    return segments;
  }
}

package dev.meshguard.audit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Segment file naming: {@code audit-<first seq, 20 digits>.jsonl}, so a directory listing sorted
 * by name is in chain order. Public for the sinks, which read segments as the writer fills them.
 */
public final class Segments {
  private static final Pattern NAME = Pattern.compile("audit-(\\d{20})\\.jsonl");

  private Segments() {}

  public static String name(long firstSeq) {
    return String.format("audit-%020d.jsonl", firstSeq);
  }

  /** The segment files in {@code directory}, in chain order; empty when it does not exist (yet). */
  public static List<Path> list(Path directory) throws IOException {
    List<Path> segments = new ArrayList<>();
    if (!Files.isDirectory(directory)) {
      return segments;
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "audit-*.jsonl")) {
      for (Path path : stream) {
        if (NAME.matcher(path.getFileName().toString()).matches()) {
          segments.add(path);
        }
      }
    }
    segments.sort(null);
    return segments;
  }

  /** The first sequence number a segment's name claims. */
  public static long firstSeq(Path segment) {
    Matcher m = NAME.matcher(segment.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a segment file: " + segment);
    }
    return Long.parseLong(m.group(1));
  }
}

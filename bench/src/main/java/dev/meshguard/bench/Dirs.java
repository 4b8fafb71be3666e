package dev.meshguard.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Scratch directories of a run: made under the run's work directory, deleted when done. */
final class Dirs {
  private Dirs() {}

  /** A new, empty directory under {@code parent} (created if missing). */
  static Path create(Path parent, String prefix) throws IOException {
    return Files.createTempDirectory(Files.createDirectories(parent), prefix);
  }

  /** Deletes {@code dir} and everything in it; a missing directory is fine. */
  static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(dir)) {
      paths = walk.sorted(Comparator.reverseOrder()).toList();
    }
    for (Path path : paths) {
      Files.delete(path);
    }
  }
}

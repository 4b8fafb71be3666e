package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The policy files under a list of paths, found the way {@link PolicyLoader} finds them: a named
 * file as it is; a directory recursively, its {@code *.yaml}, {@code *.yml} and {@code *.json}
 * files sorted by path, dot files and dot directories skipped; a file reached twice read once.
 * Bundles digest exactly the files the policies were loaded from.
 */
final class PolicyFiles {

  private PolicyFiles() {}

  /** The files under {@code paths}; a path that cannot be listed is a {@link ConfigException}. */
  static List<Path> list(List<Path> paths) throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    List<Path> files = list(paths, errors);
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return files;
  }

  /**
   * The files under {@code paths}, in a stable order: each argument in turn, a directory's files
   * sorted by path. A path that cannot be listed adds an error to {@code errors} and no files.
   */
  static List<Path> list(List<Path> paths, List<ConfigError> errors) {
    Set<Path> files = new LinkedHashSet<>();
    Set<Path> seen = new HashSet<>();
    for (Path path : paths) {
      Objects.requireNonNull(path, "paths contains null");
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(p -> !p.equals(path) && !hidden(path.relativize(p)))
              .filter(Files::isRegularFile)
              .filter(PolicyFiles::policyFileName)
              .sorted()
              .forEach(p -> addOnce(files, seen, p));
        } catch (IOException | UncheckedIOException e) {
          Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
          errors.add(new ConfigError(path.toString(), 0, 0, "", "cannot list the directory: "
              + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage())));
        }
      } else if (Files.isRegularFile(path)) {
        addOnce(files, seen, path);
      } else if (Files.exists(path)) {
        errors.add(new ConfigError(path.toString(), 0, 0, "", "not a regular file or directory"));
      } else {
        errors.add(new ConfigError(path.toString(), 0, 0, "", "no such file or directory"));
      }
    }
    return List.copyOf(files);
  }

  /** A file reached twice (named and inside a named directory) is read once. */
  private static void addOnce(Set<Path> files, Set<Path> seen, Path file) {
    Path key;
    try {
      key = file.toRealPath();
    } catch (IOException e) {
      key = file.toAbsolutePath().normalize();
    }
    if (seen.add(key)) {
      files.add(file);
    }
  }

  private static boolean hidden(Path relative) {
    for (Path part : relative) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  static boolean policyFileName(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json");
  }
}

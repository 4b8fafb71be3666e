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

  static List<Path> list(List<Path> paths) throws ConfigException {
    Set<Path> files = new LinkedHashSet<>();
    Set<Path> seen = new HashSet<>();
    List<ConfigError> errors = new ArrayList<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(p -> !p.equals(path) && !hidden(path.relativize(p)))
              .filter(Files::isRegularFile)
              .filter(PolicyFiles::policyFileName)
              .sorted()
              .forEach(p -> addOnce(files, seen, p));
        } catch (IOException | UncheckedIOException e) {
          errors.add(new ConfigError(path.toString(), 0, 0, "", "cannot list the directory: " + e.getMessage()));
        }
      } else if (Files.isRegularFile(path)) {
        addOnce(files, seen, path);
      } else {
        errors.add(new ConfigError(path.toString(), 0, 0, "", "no such file or directory"));
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return List.copyOf(files);
  }

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

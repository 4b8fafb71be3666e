package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.YamlNode.Mark;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What loading found besides the policies: errors (the set is refused), warnings (what Istio's
 * webhook would warn about) and notes (skipped resources). Everything is kept in the order found
 * and sorted by position at the end, so equal inputs report alike.
 */
final class Diagnostics {

  /** By file, then line, column, path and message: one order for every run. */
  static final Comparator<ConfigError> BY_POSITION = Comparator.comparing(ConfigError::source)
      .thenComparingInt(ConfigError::line)
      .thenComparingInt(ConfigError::column)
      .thenComparing(ConfigError::path)
      .thenComparing(ConfigError::message);

  private final List<ConfigError> errors = new ArrayList<>();
  private final List<ConfigError> warnings = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  void error(Mark mark, String path, String message) {
    errors.add(mark.error(path, message));
  }

  void add(ConfigError error) {
    errors.add(error);
  }

  void warning(Mark mark, String path, String message) {
    warnings.add(mark.error(path, message));
  }

  void note(String note) {
    notes.add(note);
  }

  /** The list a reader may add non-fatal errors to directly (repeated keys). */
  List<ConfigError> errorSink() {
    return errors;
  }

  int errorCount() {
    return errors.size();
  }

  boolean hasErrors() {
    return !errors.isEmpty();
  }

  /** Throws every error found, sorted, when there is any. */
  void throwIfErrors() throws ConfigException {
    if (!errors.isEmpty()) {
      List<ConfigError> sorted = new ArrayList<>(errors);
      sorted.sort(BY_POSITION);
      throw new ConfigException(sorted.stream().distinct().toList());
    }
  }

  List<ConfigError> sortedWarnings() {
    List<ConfigError> sorted = new ArrayList<>(warnings);
    sorted.sort(BY_POSITION);
    return sorted.stream().distinct().toList();
  }

  List<String> notes() {
    return List.copyOf(notes);
  }
}

package dev.meshguard.core.config;

import java.util.List;
import java.util.Objects;

/**
 * A YAML document as the binder sees it: every node knows where it came from. Scalars keep
 * their raw text (YAML 1.1 would read {@code yes} as a boolean and {@code 0777} as octal; the
 * binder decides instead, from the record component's type).
 */
sealed interface YamlNode {

  Mark mark();

  /**
   * Where a node came from.
   *
   * @param source the file name, or {@code env NAME} / {@code flag --path} for an override
   * @param line 1-based; 0 for an override, which has no lines
   * @param column 1-based; 0 for an override
   */
  record Mark(String source, int line, int column) {
    public Mark {
      Objects.requireNonNull(source, "source");
    }

    static Mark ofOverride(String source) {
      return new Mark(source, 0, 0);
    }

    /** True for a node read from a file, whose relative paths resolve against its directory. */
    boolean inFile() {
      return line > 0;
    }

    ConfigError error(String path, String message) {
      return new ConfigError(source, line, column, path, message);
    }
  }

  /** A block or flow mapping; entries in file order, keys unique (the reader drops repeats). */
  record Mapping(List<Entry> entries, Mark mark) implements YamlNode {
    public Mapping {
      entries = List.copyOf(entries);
    }
  }

  /** One key of a mapping, located at the key itself. */
  record Entry(String key, Mark keyMark, YamlNode value) {}

  record Sequence(List<YamlNode> items, Mark mark) implements YamlNode {
    public Sequence {
      items = List.copyOf(items);
    }
  }

  /** A plain, quoted or block scalar; {@code text} is what the file says, without quotes. */
  record Scalar(String text, Mark mark) implements YamlNode {}

  /** {@code null}, {@code ~}, or nothing after the colon. */
  record Null(Mark mark) implements YamlNode {}

  /** {@code *anchor}: not supported; the binder reports it where a value is expected. */
  record Alias(String anchor, Mark mark) implements YamlNode {}
}

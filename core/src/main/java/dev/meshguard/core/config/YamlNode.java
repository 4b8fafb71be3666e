package dev.meshguard.core.config;

import java.util.List;
import java.util.Objects;

/**
 * A YAML (or JSON) document as a tree in which every node knows where it came from. Scalars keep
 * their raw text (YAML 1.1 would read {@code yes} as a boolean and {@code 0777} as octal; the
 * binder decides instead, from the record component's type) and, for formats that care whether a
 * value was written as a string, the {@link Scalar.Type} the YAML parser resolved.
 *
 * <p>Public so that modules reading formats of their own (policy files, mesh config) can use
 * {@link YamlDocuments} and report errors with the same positions as configuration files.
 */
public sealed interface YamlNode {

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

    /** A {@link ConfigError} at this mark. */
    public ConfigError error(String path, String message) {
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

  /**
   * A plain, quoted or block scalar; {@code text} is what the file says, without quotes.
   *
   * @param type what the parser resolved the scalar to: a quoted scalar is always a
   *     {@link Type#STRING}; a plain one may be a number or a boolean ({@code 8080},
   *     {@code true}, {@code yes}), as it would be for Kubernetes
   */
  record Scalar(String text, Mark mark, Type type) implements YamlNode {

    /** The resolved type of a scalar. */
    public enum Type {
      STRING,
      INTEGER,
      FLOAT,
      BOOLEAN
    }

    public Scalar {
      Objects.requireNonNull(text, "text");
      Objects.requireNonNull(type, "type");
    }

    /** A string scalar, as flags and environment variables give them. */
    public Scalar(String text, Mark mark) {
      this(text, mark, Type.STRING);
    }
  }

  /** {@code null}, {@code ~}, or nothing after the colon. */
  record Null(Mark mark) implements YamlNode {}

  /** {@code *anchor}: not supported; the binder reports it where a value is expected. */
  record Alias(String anchor, Mark mark) implements YamlNode {}
}

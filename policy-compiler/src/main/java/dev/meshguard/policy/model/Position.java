package dev.meshguard.policy.model;

import java.util.Objects;

/**
 * Where a resource (or one of its parts) was written, for diagnostics and {@code explain}.
 *
 * @param file the path as given by the user (or a pseudo-name such as {@code <stdin>})
 * @param line 1-based; 0 when unknown
 * @param column 1-based; 0 when unknown
 */
public record Position(String file, int line, int column) {

  public static final Position UNKNOWN = new Position("<unknown>", 0, 0);

  public Position {
    Objects.requireNonNull(file, "file");
  }

  @Override
  public String toString() {
    return line > 0 ? file + ":" + line + ":" + column : file;
  }
}

package dev.meshguard.core.config;

import java.util.Objects;

/**
 * One mistake in a configuration input, located precisely enough for a user to fix it.
 *
 * @param source the file path (or a pseudo-source such as {@code flag --admin-port} or
 *     {@code env MESHGUARD_ADMIN_PORT}) the faulty value came from
 * @param line 1-based line, or 0 when the source has no lines (flags, environment)
 * @param column 1-based column, or 0 when unknown
 * @param path the key path of the faulty value, e.g. {@code admin.port} or {@code servers[2].name};
 *     empty for the document root
 * @param message what is wrong, in words that name the rule broken
 */
public record ConfigError(String source, int line, int column, String path, String message) {

  public ConfigError {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(message, "message");
  }

  /** Renders {@code file:line:column: path: message}, the form every error of meshguard takes. */
  public String render() {
    StringBuilder sb = new StringBuilder(source);
    if (line > 0) {
      sb.append(':').append(line);
      if (column > 0) {
        sb.append(':').append(column);
      }
    }
    sb.append(": ");
    if (!path.isEmpty()) {
      sb.append(path).append(": ");
    }
    return sb.append(message).toString();
  }

  @Override
  public String toString() {
    return render();
  }
}

package dev.meshguard.core.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A configuration that cannot be used: every mistake found, not just the first. Thrown at
 * start-up and on reload; a reload that fails this way keeps the last good configuration.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient List<ConfigError> errors;

  public ConfigException(List<ConfigError> errors) {
    super(render(errors));
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one error");
    }
    this.errors = List.copyOf(errors);
  }

  public ConfigException(ConfigError error) {
    this(List.of(error));
  }

  /** A single error about a setting that has no file position (a flag, a crypto choice). */
  public static ConfigException forSetting(String setting, String message) {
    return new ConfigException(new ConfigError("config", 0, 0, setting, message));
  }

  public ConfigException(List<ConfigError> errors, Throwable cause) {
    this(errors);
    initCause(cause);
  }

  public List<ConfigError> errors() {
    return errors;
  }

  private static String render(List<ConfigError> errors) {
    return errors.stream().map(ConfigError::render).collect(Collectors.joining("\n"));
  }
}

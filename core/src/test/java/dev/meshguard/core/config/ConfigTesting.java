package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Map;

/** Helpers for the config tests. */
final class ConfigTesting {

  private ConfigTesting() {}

  interface Load {
    Object run() throws ConfigException;
  }

  /** The rendered errors {@code load} throws; fails if it returns. */
  static List<String> errors(Load load) {
    ConfigException e = catchThrowableOfType(ConfigException.class, load::run);
    if (e == null) {
      throw new AssertionError("expected a ConfigException");
    }
    return e.errors().stream().map(ConfigError::render).toList();
  }

  /** The rendered errors of parsing {@code yaml} as {@code test.yaml} onto {@link SampleConfig#DEFAULTS}. */
  static List<String> errors(String yaml) {
    return errors(() -> Config.parse(yaml, "test.yaml", null, SampleConfig.DEFAULTS, Map.of(), Map.of()));
  }
}

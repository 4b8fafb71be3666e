package dev.meshguard.ratelimit;

/**
 * How a limit counts: our extension field {@code algorithm} of a {@code rate_limit}. The default,
 * {@link #FIXED_WINDOW}, is what envoyproxy/ratelimit does, so migrated configs behave identically.
 */
public enum Algorithm {
  /** A counter per window aligned to Unix time ({@code now - now % window}). */
  FIXED_WINDOW("fixed_window"),
  /** Parsed and validated; enforced as {@link #FIXED_WINDOW} until the sliding-window store lands. */
  SLIDING_WINDOW("sliding_window"),
  /** Parsed and validated; enforced as {@link #FIXED_WINDOW} until the GCRA store lands. */
  TOKEN_BUCKET("token_bucket");

  private final String configName;

  Algorithm(String configName) {
    this.configName = configName;
  }

  /** The name used in YAML. */
  public String configName() {
    return configName;
  }

  static Algorithm parse(String text) {
    for (Algorithm algorithm : values()) {
      if (algorithm.configName.equals(text)) {
        return algorithm;
      }
    }
    return null;
  }
}

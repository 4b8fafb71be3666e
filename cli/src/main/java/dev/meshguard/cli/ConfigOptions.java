package dev.meshguard.cli;

import dev.meshguard.core.config.Config;
import dev.meshguard.core.config.ConfigException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options every server shares; each set flag becomes an override of its config key, so
 * flags beat {@code MESHGUARD_*} variables, which beat the file, which beats the defaults.
 */
final class ConfigOptions {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config file (snake_case keys).")
  Path configFile;

  @Option(names = "--admin-port", paramLabel = "PORT",
      description = "Admin HTTP port on 127.0.0.1 (/healthz /readyz /metrics /status); default 9090.")
  Integer adminPort;

  @Option(names = "--audit-dir", paramLabel = "DIR",
      description = "Audit log directory; default ./meshguard-data/audit.")
  Path auditDir;

  @Option(names = "--fips", description = "Run the Bouncy Castle FIPS module in approved-only mode.")
  boolean fips;

  /** Loads {@code defaults} overridden by the file, {@code MESHGUARD_*} variables and the flags set. */
  <R extends Record> R load(R defaults, Map<String, String> env) throws ConfigException {
    return load(defaults, env, Map.of());
  }

  /** As {@link #load(Record, Map)}, with a command's own flags as overrides by config key. */
  <R extends Record> R load(R defaults, Map<String, String> env, Map<String, String> commandFlags)
      throws ConfigException {
    Map<String, String> flags = new LinkedHashMap<>(commandFlags);
    if (adminPort != null) {
      flags.put("admin.port", adminPort.toString());
    }
    if (auditDir != null) {
      flags.put("audit.directory", auditDir.toString());
    }
    if (fips) {
      flags.put("fips", "true");
    }
    return Config.load(configFile, defaults, flags, env);
  }
}

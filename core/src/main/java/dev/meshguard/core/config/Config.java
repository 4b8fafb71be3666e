package dev.meshguard.core.config;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Loads a meshguard configuration: a YAML file bound onto an immutable record, with command-line
 * flags and {@code MESHGUARD_*} environment variables on top. Precedence, highest first: flag,
 * environment variable, file, the defaults instance.
 *
 * <h2>The file</h2>
 * Keys are the snake_case names of the record's components ({@code adminPort} is
 * {@code admin_port}), or the name given by {@link ConfigKey}. Values: {@code String},
 * {@code boolean} ({@code true}/{@code false}), {@code int}, {@code long}, {@code double},
 * {@link java.time.Duration} ({@code 250ms}, {@code 10s}, {@code 1h30m}, or {@code 0}, as Go and
 * Envoy write them), {@link Path} (relative to the file's directory), enums (case-insensitive,
 * {@code fail-open} for {@code FAIL_OPEN}), nested records, {@code List<T>} and
 * {@code Map<String, T>}. {@link Range} and {@link NotBlank} constrain values; a compact
 * constructor's {@link IllegalArgumentException} is an error at the record's position. An
 * empty file binds the defaults. See {@code ConfigBinder} for the exact rules.
 *
 * <h2>Overrides</h2>
 * A flag is keyed by its key path ({@code admin.port}; the CLI maps {@code --admin-port} to it).
 * An environment variable is {@code MESHGUARD_} followed by the key path upper-cased with
 * {@code .} as {@code _} ({@code MESHGUARD_ADMIN_PORT}, {@code MESHGUARD_AUDIT_MAX_SEGMENT_BYTES});
 * it is matched against the settings the record defines, and a {@code MESHGUARD_*} variable that
 * names none is <em>ignored</em>, because other tools set variables with that prefix. An unknown
 * flag is an error. Flags and variables set scalars and lists of scalars (comma-separated)
 * reached through records, not entries of lists or maps.
 *
 * <h2>Errors</h2>
 * Every mistake is found in one pass and thrown together in a {@link ConfigException}, sorted
 * by position (file errors first, then overrides): {@code meshguard.yaml:12:9: admin.port: must
 * be between 1 and 65535, found 70000}; an override's error names it as the source
 * ({@code env MESHGUARD_ADMIN_PORT: admin.port: ...}). A YAML syntax error stops at once.
 *
 * <p>A record type the binder cannot handle (an unsupported component type, a non-snake_case
 * {@code @ConfigKey}, a misplaced {@code @Range}) is a programming error: an
 * {@link IllegalArgumentException} naming the component.
 */
public final class Config {

  /** Larger files are refused before they are read; no configuration is this big. */
  public static final long MAX_FILE_BYTES = 4L << 20;

  /** File errors in position order, then override errors by source; all the same input sorts alike. */
  private static final Comparator<ConfigError> BY_POSITION = Comparator
      .comparing((ConfigError e) -> e.line() == 0)
      .thenComparing(ConfigError::source)
      .thenComparingInt(ConfigError::line)
      .thenComparingInt(ConfigError::column)
      .thenComparing(ConfigError::path)
      .thenComparing(ConfigError::message);

  private Config() {}

  /**
   * Loads {@code file} onto a copy of {@code defaults}, then applies the overrides.
   *
   * @param file the YAML file, or null to use the defaults and overrides alone; errors name it
   *     as given
   * @param defaults the values of keys the file does not set
   * @param flags flag values by key path, e.g. {@code admin.port -> 9091}
   * @param env the environment, e.g. {@code System.getenv()}; only {@code MESHGUARD_*} is read
   * @throws ConfigException with every mistake found, or the one that stopped reading (a missing
   *     or unreadable file, a syntax error)
   */
  public static <R extends Record> R load(Path file, R defaults, Map<String, String> flags, Map<String, String> env)
      throws ConfigException {
    Objects.requireNonNull(defaults, "defaults");
    if (file == null) {
      return bind(null, "", null, defaults, flags, env);
    }
    String source = file.toString();
    String yaml;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new ConfigException(new ConfigError(source, 0, 0, "", "file is larger than " + MAX_FILE_BYTES + " bytes"));
      }
      yaml = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(List.of(new ConfigError(source, 0, 0, "", "file not found")), e);
    } catch (MalformedInputException e) {
      throw new ConfigException(List.of(new ConfigError(source, 0, 0, "", "file is not valid UTF-8")), e);
    } catch (IOException e) {
      throw new ConfigException(List.of(new ConfigError(source, 0, 0, "", "cannot read the file: " + e)), e);
    }
    return bind(yaml, source, file.toAbsolutePath().getParent(), defaults, flags, env);
  }

  /**
   * Parses {@code yaml} as if read from a file named {@code sourceName} in {@code baseDir}.
   *
   * @param baseDir the directory relative paths resolve against, or null to keep them relative
   * @throws ConfigException with every mistake found
   */
  public static <R extends Record> R parse(String yaml, String sourceName, Path baseDir, R defaults,
      Map<String, String> flags, Map<String, String> env) throws ConfigException {
    Objects.requireNonNull(yaml, "yaml");
    Objects.requireNonNull(sourceName, "sourceName");
    Objects.requireNonNull(defaults, "defaults");
    return bind(yaml, sourceName, baseDir, defaults, flags, env);
  }

  private static <R extends Record> R bind(String yaml, String source, Path baseDir, R defaults,
      Map<String, String> flags, Map<String, String> env) throws ConfigException {
    Objects.requireNonNull(flags, "flags");
    Objects.requireNonNull(env, "env");
    Schema schema = Schema.of(defaults.getClass());
    List<ConfigError> errors = new ArrayList<>();
    YamlNode root = yaml == null ? new YamlNode.Null(new YamlNode.Mark(source, 1, 1)) : YamlReader.read(yaml, source, errors);
    Map<String, YamlNode> overrides = Overrides.collect(schema, flags, env, errors);
    Object value = ConfigBinder.bind(schema, root, defaults, baseDir, overrides, errors);
    if (!errors.isEmpty()) {
      errors.sort(BY_POSITION);
      throw new ConfigException(errors);
    }
    // A record class is final, so the bound value's class is exactly R's.
    @SuppressWarnings("unchecked")
    R result = (R) value;
    return result;
  }
}

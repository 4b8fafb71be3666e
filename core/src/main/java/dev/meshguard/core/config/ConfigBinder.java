package dev.meshguard.core.config;

import dev.meshguard.core.config.Schema.Component;
import dev.meshguard.core.config.Schema.ListShape;
import dev.meshguard.core.config.Schema.MapShape;
import dev.meshguard.core.config.Schema.RecordShape;
import dev.meshguard.core.config.Schema.ScalarShape;
import dev.meshguard.core.config.Schema.Shape;
import dev.meshguard.core.config.YamlNode.Alias;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.lang.reflect.InvocationTargetException;
import java.math.BigDecimal;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Binds a {@link YamlNode} tree, plus override nodes from flags and the environment, onto a
 * record type, starting from a defaults instance of it.
 *
 * <p>Written by hand rather than with Jackson's databind because databind stops at the first
 * error and loses the positions; here every mistake becomes a {@link ConfigError} with its
 * file, line, column and key path, and binding goes on. A record with an error in any of its
 * components is not constructed (its value is {@link #INVALID}), so its compact constructor
 * only ever sees well-typed values, and an exception from it is one more error, at the
 * record's position. Nothing is constructed from a file with errors that the caller keeps.
 *
 * <p>The rules, per component:
 * <ul>
 *   <li>an absent key keeps the defaults instance's value; an override (flag or environment)
 *       replaces the file's value; a nested record merges key by key, recursively;
 *   <li>a list or map in the file replaces the default list or map as a whole;
 *   <li>a record with no defaults instance (a list element, a map value) takes its defaults
 *       from its {@code static final DEFAULTS} field when it declares one; otherwise an absent
 *       key is an error, except for a list or map, which is empty;
 *   <li>{@code null} (or nothing after the colon) is an empty section for a record, keeping its
 *       defaults, and an error anywhere else ({@code ""}, {@code []} or {@code {}} say "empty");
 *   <li>a relative path from the file resolves against the file's directory; a relative path
 *       from a flag or the environment stays relative (to the working directory, as a shell
 *       user expects).
 * </ul>
 */
final class ConfigBinder {

  /** The value of anything that has an error; never escapes this class. */
  private static final Object INVALID = new Object();

  private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");
  private static final Pattern DECIMAL = Pattern.compile("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?");

  /** An integer with more significant digits than this is far outside every range; BigDecimal need not see it. */
  private static final int MAX_INTEGER_DIGITS = 30;

  private static final BigDecimal HUGE = new BigDecimal("1e" + MAX_INTEGER_DIGITS);

  private final Path baseDir;
  private final Map<String, YamlNode> overrides;
  private final Set<String> sectionsWithOverrides = new HashSet<>();
  private final List<ConfigError> errors;

  private ConfigBinder(Path baseDir, Map<String, YamlNode> overrides, List<ConfigError> errors) {
    this.baseDir = baseDir;
    this.overrides = overrides;
    this.errors = errors;
    for (String path : overrides.keySet()) {
      sectionsWithOverrides.add("");
      for (int dot = path.indexOf('.'); dot >= 0; dot = path.indexOf('.', dot + 1)) {
        sectionsWithOverrides.add(path.substring(0, dot));
      }
    }
  }

  /**
   * Binds {@code root} onto the schema's record type.
   *
   * @param baseDir the directory relative paths in the file resolve against; null to keep them
   *     as written
   * @param overrides nodes from flags and the environment by leaf path, as {@link Overrides} makes them
   * @return the bound record, or null when errors were added to {@code errors}
   */
  static Object bind(Schema schema, YamlNode root, Object defaults, Path baseDir, Map<String, YamlNode> overrides,
      List<ConfigError> errors) {
    Object value = new ConfigBinder(baseDir, overrides, errors).value(schema.root, root, defaults, "");
    if (value == INVALID) {
      if (errors.isEmpty()) {
        throw new IllegalStateException("binding failed without an error");
      }
      return null;
    }
    return value;
  }

  private Object value(Shape shape, YamlNode node, Object defaults, String path) {
    if (node instanceof Alias alias) {
      return error(alias.mark(), path,
          "YAML aliases are not supported, found " + KeyNames.quote("*" + alias.anchor()) + "; write the value out");
    }
    return switch (shape) {
      case RecordShape record -> switch (node) {
        case Mapping mapping -> record(record, mapping, mapping.mark(), defaults, path);
        case Null empty -> record(record, null, empty.mark(), defaults, path);
        default -> mismatch("a mapping", node, path);
      };
      case ListShape list -> node instanceof Sequence sequence ? list(list, sequence, path) : mismatch("a list", node, path);
      case MapShape map -> node instanceof Mapping mapping ? map(map, mapping, path) : mismatch("a mapping", node, path);
      case ScalarShape scalar -> node instanceof Scalar text ? scalar(scalar, text, path) : mismatch(scalar.expected(), node, path);
    };
  }

  /**
   * @param mapping the section in the file, or null when the file has none (or an empty one)
   * @param mark where the section is, or where its parent is when the file has none
   */
  private Object record(RecordShape shape, Mapping mapping, Mark mark, Object defaults, String path) {
    Object base = defaults != null ? defaults : shape.defaultsConstant();
    if (mapping == null && base != null && !sectionsWithOverrides.contains(path)) {
      return base;
    }
    Map<String, Entry> entries = new HashMap<>();
    if (mapping != null) {
      for (Entry entry : mapping.entries()) {
        if (shape.byKey().containsKey(entry.key())) {
          entries.put(entry.key(), entry);
        } else {
          error(entry.keyMark(), KeyNames.child(path, entry.key()), KeyNames.unknownKey(entry.key(), shape.sortedKeys()));
        }
      }
    }
    Object[] values = new Object[shape.components().size()];
    boolean valid = true;
    for (int i = 0; i < values.length; i++) {
      Component component = shape.components().get(i);
      String childPath = KeyNames.child(path, component.key());
      Object fallback = base == null ? null : component.get(base);
      YamlNode override = overrides.get(childPath);
      Entry entry = entries.get(component.key());
      if (override != null) {
        values[i] = value(component.shape(), override, fallback, childPath);
      } else if (entry != null) {
        values[i] = value(component.shape(), entry.value(), fallback, childPath);
      } else if (component.shape() instanceof RecordShape nested && sectionsWithOverrides.contains(childPath)) {
        values[i] = record(nested, null, mark, fallback, childPath);
      } else if (base != null) {
        values[i] = fallback;
      } else {
        values[i] = absent(component, mark, path);
      }
      valid &= values[i] != INVALID;
    }
    if (!valid) {
      return INVALID;
    }
    try {
      return shape.construct(values);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof IllegalArgumentException invalid) {
        return error(mapping != null ? mark : markOfFirstOverride(path, mark), path, message(invalid));
      }
      // Anything else from a compact constructor is a bug in it, not a configuration mistake.
      if (e.getCause() instanceof RuntimeException bug) {
        throw bug;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /** The value of a key absent from a record that has no defaults. */
  private Object absent(Component component, Mark mark, String path) {
    return switch (component.shape()) {
      case ListShape list -> List.of();
      case MapShape map -> Map.of();
      case RecordShape record when record.defaultsConstant() != null -> record.defaultsConstant();
      default -> error(mark, path, "missing required key " + KeyNames.quote(component.key()));
    };
  }

  private Object list(ListShape shape, Sequence sequence, String path) {
    List<Object> values = new ArrayList<>(sequence.items().size());
    boolean valid = true;
    for (int i = 0; i < sequence.items().size(); i++) {
      Object value = value(shape.element(), sequence.items().get(i), null, KeyNames.element(path, i));
      valid &= value != INVALID;
      values.add(value);
    }
    return valid ? List.copyOf(values) : INVALID;
  }

  /** Sorted by key, so equal files bind to maps that iterate alike. */
  private Object map(MapShape shape, Mapping mapping, String path) {
    Map<String, Object> values = new TreeMap<>();
    boolean valid = true;
    for (Entry entry : mapping.entries()) {
      Object value = value(shape.value(), entry.value(), null, KeyNames.child(path, entry.key()));
      valid &= value != INVALID;
      values.put(entry.key(), value);
    }
    return valid ? Collections.unmodifiableMap(values) : INVALID;
  }

  private Object scalar(ScalarShape shape, Scalar node, String path) {
    String text = node.text();
    return switch (shape.kind()) {
      case STRING -> shape.notBlank() && text.isBlank() ? error(node.mark(), path, "must not be blank") : text;
      case BOOLEAN -> {
        if (text.equalsIgnoreCase("true")) {
          yield Boolean.TRUE;
        }
        yield text.equalsIgnoreCase("false") ? Boolean.FALSE : mismatch(shape.expected(), node, path);
      }
      case INT -> integer(shape, node, path, Integer.MIN_VALUE, Integer.MAX_VALUE, false);
      case LONG -> integer(shape, node, path, Long.MIN_VALUE, Long.MAX_VALUE, true);
      case DOUBLE -> decimal(shape, node, path);
      case DURATION -> duration(shape, node, path);
      case PATH -> path(shape, node, path);
      case ENUM -> constant(shape, node, path);
    };
  }

  private Object integer(ScalarShape shape, Scalar node, String path, long min, long max, boolean isLong) {
    String text = node.text();
    if (!INTEGER.matcher(text).matches()) {
      return mismatch(shape.expected(), node, path);
    }
    BigDecimal value = significantDigits(text) > MAX_INTEGER_DIGITS
        ? (text.startsWith("-") ? HUGE.negate() : HUGE)
        : new BigDecimal(text);
    if (!inBounds(shape, value, node, path)) {
      return INVALID;
    }
    if (value.compareTo(BigDecimal.valueOf(min)) < 0 || value.compareTo(BigDecimal.valueOf(max)) > 0) {
      return error(node.mark(), path, "must be between " + min + " and " + max + ", found " + clip(text));
    }
    return isLong ? (Object) value.longValueExact() : (Object) value.intValueExact();
  }

  private static int significantDigits(String text) {
    int start = text.startsWith("-") || text.startsWith("+") ? 1 : 0;
    while (start < text.length() - 1 && text.charAt(start) == '0') {
      start++;
    }
    return text.length() - start;
  }

  private Object decimal(ScalarShape shape, Scalar node, String path) {
    String text = node.text();
    if (!DECIMAL.matcher(text).matches()) {
      return mismatch(shape.expected(), node, path);
    }
    double value = Double.parseDouble(text);
    if (Double.isInfinite(value)) {
      return error(node.mark(), path, "must be a finite number, found " + clip(text));
    }
    return inBounds(shape, new BigDecimal(value), node, path) ? value : INVALID;
  }

  private Object duration(ScalarShape shape, Scalar node, String path) {
    Duration value;
    try {
      value = Durations.parse(node.text());
    } catch (IllegalArgumentException e) {
      return error(node.mark(), path,
          "expected " + shape.expected() + ", found " + KeyNames.quote(node.text()) + " (" + e.getMessage() + ")");
    }
    return inBounds(shape, Schema.seconds(value), node, path) ? value : INVALID;
  }

  private Object path(ScalarShape shape, Scalar node, String path) {
    if (node.text().isEmpty()) {
      return mismatch(shape.expected(), node, path);
    }
    Path value;
    try {
      value = Path.of(node.text());
    } catch (InvalidPathException e) {
      return error(node.mark(), path, "not a valid path: " + e.getReason() + ", found " + KeyNames.quote(node.text()));
    }
    return node.mark().inFile() && baseDir != null && !value.isAbsolute() ? baseDir.resolve(value) : value;
  }

  /** Case-insensitive, and a dash stands for an underscore: {@code fail-open} is {@code FAIL_OPEN}. */
  private Object constant(ScalarShape shape, Scalar node, String path) {
    String name = node.text().replace('-', '_');
    for (Object constant : shape.type().getEnumConstants()) {
      if (((Enum<?>) constant).name().equalsIgnoreCase(name)) {
        return constant;
      }
    }
    return mismatch(shape.expected(), node, path);
  }

  private boolean inBounds(ScalarShape shape, BigDecimal value, Scalar node, String path) {
    String problem = shape.bounds() == null ? null : shape.bounds().check(value, clip(node.text()));
    if (problem != null) {
      error(node.mark(), path, problem);
      return false;
    }
    return true;
  }

  private Object mismatch(String expected, YamlNode node, String path) {
    return error(node.mark(), path, "expected " + expected + ", found " + describe(node));
  }

  private static String describe(YamlNode node) {
    return switch (node) {
      case Mapping m -> "a mapping";
      case Sequence s -> "a list";
      case Null n -> "null";
      case Alias a -> "an alias";
      case Scalar s -> KeyNames.quote(s.text());
    };
  }

  /** Where a section the file does not have gets an error: at the first override that set it up. */
  private Mark markOfFirstOverride(String path, Mark fallback) {
    String prefix = path.isEmpty() ? "" : path + ".";
    for (Map.Entry<String, YamlNode> override : overrides.entrySet()) {
      if (override.getKey().startsWith(prefix)) {
        return override.getValue().mark();
      }
    }
    return fallback;
  }

  /**
   * The message of a compact constructor's exception. One that wraps a domain exception
   * ({@code new IllegalArgumentException(cause)}) gets the cause's message, not its toString.
   */
  private static String message(IllegalArgumentException e) {
    Throwable cause = e.getCause();
    if (cause != null && cause.getMessage() != null && (e.getMessage() == null || e.getMessage().equals(cause.toString()))) {
      return cause.getMessage();
    }
    return e.getMessage() != null ? e.getMessage() : "is invalid";
  }

  private static String clip(String text) {
    String quoted = KeyNames.quote(text);
    return quoted.substring(1, quoted.length() - 1);
  }

  private Object error(Mark mark, String path, String message) {
    errors.add(mark.error(path, message));
    return INVALID;
  }
}

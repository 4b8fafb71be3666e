package dev.meshguard.core.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The shape of a configuration record, worked out once per record class by reflection: each
 * component's key, type and constraints, and the leaf settings a flag or environment variable
 * can set. A record type the binder cannot handle fails here, with an
 * {@link IllegalArgumentException} naming the component: that is a programming error, not a
 * configuration error.
 */
final class Schema {

  private static final ClassValue<Schema> CACHE = new ClassValue<>() {
    @Override
    protected Schema computeValue(Class<?> type) {
      return new Schema(type);
    }
  };

  /** The name of the optional constant holding a record's defaults, for list elements and map values. */
  static final String DEFAULTS_CONSTANT = "DEFAULTS";

  final RecordShape root;

  /** Settings a flag or environment variable can set: scalars and lists of scalars, by key path. */
  final Map<String, Leaf> leavesByPath;

  final Map<String, Leaf> leavesByEnvName;

  static Schema of(Class<?> recordType) {
    return CACHE.get(recordType);
  }

  private Schema(Class<?> type) {
    if (!type.isRecord()) {
      throw new IllegalArgumentException(type.getName() + " is not a record");
    }
    this.root = recordShape(type, new HashSet<>());
    Map<String, Leaf> byPath = new TreeMap<>();
    collectLeaves(root, "", byPath);
    Map<String, Leaf> byEnv = new TreeMap<>();
    for (Leaf leaf : byPath.values()) {
      Leaf other = byEnv.putIfAbsent(leaf.envName(), leaf);
      if (other != null) {
        throw new IllegalArgumentException(type.getName() + ": keys " + other.path() + " and " + leaf.path()
            + " both map to the environment variable " + leaf.envName() + "; rename one with @ConfigKey");
      }
    }
    this.leavesByPath = Collections.unmodifiableMap(byPath);
    this.leavesByEnvName = Collections.unmodifiableMap(byEnv);
  }

  /** What a component holds. */
  sealed interface Shape permits RecordShape, ListShape, MapShape, ScalarShape {}

  /**
   * A nested record.
   *
   * @param defaultsConstant the value of the record's {@code static final DEFAULTS} field of its
   *     own type, or null: the defaults for elements of lists and values of maps
   */
  record RecordShape(Class<?> type, List<Component> components, Map<String, Component> byKey,
      List<String> sortedKeys, Constructor<?> constructor, Object defaultsConstant) implements Shape {

    /** Calls the canonical constructor; the caller handles the compact constructor's exceptions. */
    Object construct(Object[] values) throws InvocationTargetException {
      try {
        return constructor.newInstance(values);
      } catch (InstantiationException | IllegalAccessException e) {
        throw new IllegalArgumentException(inaccessible(type), e);
      }
    }
  }

  /** A {@code List<T>}: a YAML sequence, replacing the default list as a whole. */
  record ListShape(Shape element) implements Shape {}

  /** A {@code Map<String, T>}: a YAML mapping with keys of the user's choosing. */
  record MapShape(Shape value) implements Shape {}

  /** A value written as one YAML scalar, with the constraints of its component. */
  record ScalarShape(Kind kind, Class<?> type, Bounds bounds, boolean notBlank) implements Shape {

    /** What a message says was expected: {@code expected an integer, found "abc"}. */
    String expected() {
      if (kind == Kind.ENUM) {
        return "one of [" + Arrays.stream(type.getEnumConstants())
            .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT))
            .collect(Collectors.joining(", ")) + "]";
      }
      return kind.expected;
    }
  }

  enum Kind {
    STRING("a string"),
    BOOLEAN("a boolean (true or false)"),
    INT("an integer"),
    LONG("an integer"),
    DOUBLE("a number"),
    DURATION("a duration such as \"250ms\", \"10s\" or \"1h30m\""),
    PATH("a path"),
    ENUM("one of the enum's values");

    final String expected;

    Kind(String expected) {
      this.expected = expected;
    }
  }

  /**
   * The bounds of {@link Range}, as BigDecimal so that one comparison serves every numeric kind
   * (a duration compares as seconds).
   */
  record Bounds(String minText, String maxText, BigDecimal min, BigDecimal max) {

    /** The message for {@code value} (as found in the input), or null when it is in bounds. */
    String check(BigDecimal value, String found) {
      boolean low = min != null && value.compareTo(min) < 0;
      boolean high = max != null && value.compareTo(max) > 0;
      if (!low && !high) {
        return null;
      }
      if (min != null && max != null) {
        return "must be between " + minText + " and " + maxText + ", found " + found;
      }
      return low ? "must be at least " + minText + ", found " + found : "must be at most " + maxText + ", found " + found;
    }
  }

  /**
   * One record component.
   *
   * @param key the YAML key, snake_case
   */
  record Component(String key, String name, Method accessor, Shape shape) {
    Object get(Object record) {
      try {
        return accessor.invoke(record);
      } catch (IllegalAccessException e) {
        throw new IllegalArgumentException(inaccessible(accessor.getDeclaringClass()), e);
      } catch (InvocationTargetException e) {
        throw new IllegalStateException("accessor " + name + " threw", e.getCause());
      }
    }
  }

  /** A setting a flag or environment variable can set. */
  record Leaf(String path, String envName, Shape shape) {}

  private static RecordShape recordShape(Class<?> type, Set<Class<?>> enclosing) {
    if (!enclosing.add(type)) {
      throw new IllegalArgumentException(type.getName() + " contains itself; recursive configuration records are not supported");
    }
    RecordComponent[] recordComponents = type.getRecordComponents();
    List<Component> components = new ArrayList<>(recordComponents.length);
    Map<String, Component> byKey = new LinkedHashMap<>();
    Class<?>[] parameterTypes = new Class<?>[recordComponents.length];
    for (int i = 0; i < recordComponents.length; i++) {
      RecordComponent rc = recordComponents[i];
      parameterTypes[i] = rc.getType();
      String where = type.getSimpleName() + "." + rc.getName();
      Component component = new Component(key(rc, where), rc.getName(), accessible(rc.getAccessor()),
          constrained(shape(rc.getGenericType(), where, enclosing), rc, where));
      Component clash = byKey.putIfAbsent(component.key(), component);
      if (clash != null) {
        throw new IllegalArgumentException(where + ": key " + component.key() + " is also the key of " + clash.name());
      }
      components.add(component);
    }
    enclosing.remove(type);
    Constructor<?> constructor;
    try {
      constructor = accessible(type.getDeclaredConstructor(parameterTypes));
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException("a record without its canonical constructor: " + type.getName(), e);
    }
    List<String> sortedKeys = byKey.keySet().stream().sorted().toList();
    return new RecordShape(type, List.copyOf(components), Collections.unmodifiableMap(byKey), sortedKeys,
        constructor, defaultsConstant(type));
  }

  private static String key(RecordComponent rc, String where) {
    ConfigKey explicit = rc.getAnnotation(ConfigKey.class);
    String key = explicit == null ? KeyNames.snakeCase(rc.getName()) : explicit.value();
    if (!KeyNames.isSnakeKey(key)) {
      throw new IllegalArgumentException(where + ": key " + KeyNames.quote(key) + " is not snake_case ([a-z0-9_]+)");
    }
    return key;
  }

  private static Shape shape(Type type, String where, Set<Class<?>> enclosing) {
    if (type instanceof Class<?> c) {
      if (c.isRecord()) {
        return recordShape(c, enclosing);
      }
      Kind kind = scalarKind(c);
      if (kind == null) {
        throw new IllegalArgumentException(where + ": type " + c.getName() + " is not supported; use String, boolean, "
            + "int, long, double, Duration, Path, an enum, a record, List<T> or Map<String, T>");
      }
      return new ScalarShape(kind, c, null, false);
    }
    if (type instanceof ParameterizedType p && p.getRawType() == List.class) {
      return new ListShape(shape(p.getActualTypeArguments()[0], where + "[]", enclosing));
    }
    if (type instanceof ParameterizedType p && p.getRawType() == Map.class) {
      if (p.getActualTypeArguments()[0] != String.class) {
        throw new IllegalArgumentException(where + ": map keys must be String, not " + p.getActualTypeArguments()[0]);
      }
      return new MapShape(shape(p.getActualTypeArguments()[1], where + "[]", enclosing));
    }
    throw new IllegalArgumentException(where + ": type " + type.getTypeName() + " is not supported");
  }

  private static Kind scalarKind(Class<?> c) {
    if (c == String.class) {
      return Kind.STRING;
    } else if (c == boolean.class || c == Boolean.class) {
      return Kind.BOOLEAN;
    } else if (c == int.class || c == Integer.class) {
      return Kind.INT;
    } else if (c == long.class || c == Long.class) {
      return Kind.LONG;
    } else if (c == double.class || c == Double.class) {
      return Kind.DOUBLE;
    } else if (c == Duration.class) {
      return Kind.DURATION;
    } else if (c == Path.class) {
      return Kind.PATH;
    } else if (c.isEnum()) {
      return Kind.ENUM;
    }
    return null;
  }

  /** Applies {@link Range} and {@link NotBlank}, which only scalars of the right kind take. */
  private static Shape constrained(Shape shape, RecordComponent rc, String where) {
    Range range = rc.getAnnotation(Range.class);
    boolean notBlank = rc.isAnnotationPresent(NotBlank.class);
    if (range == null && !notBlank) {
      return shape;
    }
    if (!(shape instanceof ScalarShape scalar)) {
      throw new IllegalArgumentException(where + ": @Range and @NotBlank apply to scalar components only");
    }
    if (notBlank && scalar.kind() != Kind.STRING) {
      throw new IllegalArgumentException(where + ": @NotBlank applies to String components only");
    }
    Bounds bounds = null;
    if (range != null) {
      if (scalar.kind() != Kind.INT && scalar.kind() != Kind.LONG && scalar.kind() != Kind.DOUBLE
          && scalar.kind() != Kind.DURATION) {
        throw new IllegalArgumentException(where + ": @Range applies to int, long, double and Duration components only");
      }
      BigDecimal min = bound(range.min(), scalar.kind(), where);
      BigDecimal max = bound(range.max(), scalar.kind(), where);
      if (min == null && max == null) {
        throw new IllegalArgumentException(where + ": @Range needs a min, a max or both");
      }
      if (min != null && max != null && min.compareTo(max) > 0) {
        throw new IllegalArgumentException(where + ": @Range min " + range.min() + " is above max " + range.max());
      }
      bounds = new Bounds(range.min(), range.max(), min, max);
    }
    return new ScalarShape(scalar.kind(), scalar.type(), bounds, notBlank);
  }

  private static BigDecimal bound(String text, Kind kind, String where) {
    if (text.isEmpty()) {
      return null;
    }
    try {
      return kind == Kind.DURATION ? seconds(Durations.parse(text)) : new BigDecimal(text);
    } catch (IllegalArgumentException e) { // NumberFormatException is one
      throw new IllegalArgumentException(where + ": @Range bound " + KeyNames.quote(text) + " is not "
          + (kind == Kind.DURATION ? "a duration" : "a number"), e);
    }
  }

  static BigDecimal seconds(Duration duration) {
    return BigDecimal.valueOf(duration.getSeconds()).add(BigDecimal.valueOf(duration.getNano(), 9));
  }

  private static Object defaultsConstant(Class<?> type) {
    Field field;
    try {
      field = type.getDeclaredField(DEFAULTS_CONSTANT);
    } catch (NoSuchFieldException e) {
      return null;
    }
    int modifiers = field.getModifiers();
    if (!Modifier.isStatic(modifiers) || !Modifier.isFinal(modifiers) || field.getType() != type) {
      return null;
    }
    try {
      return Objects.requireNonNull(accessible(field).get(null), () -> type.getName() + "." + DEFAULTS_CONSTANT);
    } catch (IllegalAccessException e) {
      throw new IllegalArgumentException(inaccessible(type), e);
    }
  }

  /** Leaves are reached through records only: a list element or map value has no fixed path. */
  private static void collectLeaves(RecordShape record, String prefix, Map<String, Leaf> leaves) {
    for (Component component : record.components()) {
      String path = KeyNames.child(prefix, component.key());
      switch (component.shape()) {
        case ScalarShape s -> leaves.put(path, new Leaf(path, KeyNames.envName(path), s));
        case ListShape l when l.element() instanceof ScalarShape -> leaves.put(path, new Leaf(path, KeyNames.envName(path), l));
        case RecordShape r -> collectLeaves(r, path, leaves);
        case ListShape l -> { }
        case MapShape m -> { }
      }
    }
  }

  /**
   * Config records often live in other packages and need not be public; on the class path the
   * binder may reach into them. In a named module the package must be opened to this one.
   */
  private static <T extends java.lang.reflect.AccessibleObject> T accessible(T member) {
    member.trySetAccessible();
    return member;
  }

  private static String inaccessible(Class<?> type) {
    return type.getName() + " is not accessible to the config binder; make it public or open its package";
  }
}

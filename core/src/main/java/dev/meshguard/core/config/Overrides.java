package dev.meshguard.core.config;

import dev.meshguard.core.config.Schema.Leaf;
import dev.meshguard.core.config.Schema.ListShape;
import dev.meshguard.core.config.Schema.MapShape;
import dev.meshguard.core.config.Schema.RecordShape;
import dev.meshguard.core.config.Schema.ScalarShape;
import dev.meshguard.core.config.Schema.Shape;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Turns command-line flags and {@code MESHGUARD_*} environment variables into YAML nodes keyed
 * by the leaf key path they set, for the binder to use in place of the file's. Flags win over
 * the environment.
 *
 * <p>Only leaves reached through records can be set: scalars and lists of scalars (written
 * comma-separated, each item trimmed; an empty value is an empty list). An environment variable
 * is matched against the schema's known leaves, so {@code MESHGUARD_AUDIT_MAX_SEGMENT_BYTES} is
 * {@code audit.max_segment_bytes} however the underscores fall; a {@code MESHGUARD_*} variable
 * that names no leaf is ignored, because other meshguard tools (and their wrappers) share the
 * prefix. A flag that names no leaf is an error: someone typed it.
 */
final class Overrides {

  private Overrides() {}

  /**
   * Returns the override nodes by leaf path, sorted; errors for unknown flag paths are added to
   * {@code errors}.
   */
  static Map<String, YamlNode> collect(Schema schema, Map<String, String> flags, Map<String, String> env,
      List<ConfigError> errors) {
    Map<String, YamlNode> overrides = new TreeMap<>();
    for (Map.Entry<String, String> variable : new TreeMap<>(env).entrySet()) {
      if (!variable.getKey().startsWith(KeyNames.ENV_PREFIX)) {
        continue;
      }
      Leaf leaf = schema.leavesByEnvName.get(variable.getKey());
      if (leaf != null) {
        String value = Objects.requireNonNull(variable.getValue(), variable.getKey());
        overrides.put(leaf.path(), node(leaf.shape(), value, Mark.ofOverride("env " + variable.getKey())));
      }
    }
    for (Map.Entry<String, String> flag : new TreeMap<>(flags).entrySet()) {
      String path = flag.getKey();
      Mark mark = Mark.ofOverride("flag --" + path);
      Leaf leaf = schema.leavesByPath.get(path);
      if (leaf == null) {
        errors.add(mark.error(path, whyNotALeaf(schema.root, path)));
        continue;
      }
      String value = Objects.requireNonNull(flag.getValue(), path);
      overrides.put(path, node(leaf.shape(), value, mark));
    }
    return overrides;
  }

  private static YamlNode node(Shape shape, String value, Mark mark) {
    if (shape instanceof ListShape) {
      List<YamlNode> items = new ArrayList<>();
      if (!value.isEmpty()) {
        for (String item : value.split(",", -1)) {
          items.add(new Scalar(item.strip(), mark));
        }
      }
      return new Sequence(items, mark);
    }
    return new Scalar(value, mark);
  }

  /** Walks {@code path} through the records to say where it goes wrong. */
  private static String whyNotALeaf(RecordShape root, String path) {
    Shape shape = root;
    String walked = "";
    for (String segment : path.split("\\.", -1)) {
      if (shape instanceof ScalarShape) {
        return walked + " is a single setting; it has no key " + KeyNames.quote(segment);
      }
      if (!(shape instanceof RecordShape record)) {
        return notSettable();
      }
      Schema.Component component = record.byKey().get(segment);
      if (component == null) {
        return KeyNames.unknownKey(segment, record.sortedKeys());
      }
      shape = component.shape();
      walked = KeyNames.child(walked, segment);
    }
    return switch (shape) {
      case RecordShape record -> "is a section, not a single setting; allowed keys: " + String.join(", ", record.sortedKeys());
      case ListShape l -> notSettable();
      case MapShape m -> notSettable();
      case ScalarShape s -> throw new IllegalStateException("a scalar reached through records is a leaf: " + path);
    };
  }

  private static String notSettable() {
    return "cannot be set by a flag or environment variable; only strings, numbers, booleans, durations, "
        + "paths, enums and lists of those can, and only outside lists and maps";
  }
}

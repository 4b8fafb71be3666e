package dev.meshguard.policy;

import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Alias;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Typed, checked access to the fields of one mapping, the way the Kubernetes API server reads a
 * custom resource against its structural schema: a field set to {@code null} is the same as an
 * absent one (the API server prunes it); a string field must hold a string ({@code ports: [8080]}
 * is refused, as {@code kubectl apply} refuses it); a key that is not a field is an error. Every
 * mistake is added to the {@link Diagnostics} with its position and path, and reading goes on:
 * the getters return null (or skip the element) for what they could not read.
 */
final class Fields {

  private final Diagnostics diagnostics;
  private final Mapping mapping;
  private final String path;
  private final Map<String, Entry> entries;

  private Fields(Diagnostics diagnostics, Mapping mapping, String path) {
    this.diagnostics = diagnostics;
    this.mapping = mapping;
    this.path = path;
    this.entries = new LinkedHashMap<>();
    for (Entry entry : mapping.entries()) {
      entries.put(entry.key(), entry);
    }
  }

  /** The fields of {@code node}, or null (with an error) when it is not a mapping. */
  static Fields of(Diagnostics diagnostics, YamlNode node, String path) {
    if (node instanceof Mapping mapping) {
      return new Fields(diagnostics, mapping, path);
    }
    mismatch(diagnostics, node, path, "must be a mapping");
    return null;
  }

  Mark mark() {
    return mapping.mark();
  }

  String path() {
    return path;
  }

  String childPath(String key) {
    return Nodes.child(path, key);
  }

  /** The keys written, in file order. */
  List<String> keys() {
    return List.copyOf(entries.keySet());
  }

  /** True when the key is written, even with a null value. */
  boolean present(String key) {
    return entries.containsKey(key);
  }

  /** True when the key is written with a non-null value. */
  boolean has(String key) {
    Entry entry = entries.get(key);
    return entry != null && !(entry.value() instanceof Null);
  }

  /** Where the key is written, or where the mapping starts when it is absent. */
  Mark keyMark(String key) {
    Entry entry = entries.get(key);
    return entry == null ? mapping.mark() : entry.keyMark();
  }

  /** The value node, or null when the key is absent or null. */
  YamlNode node(String key) {
    Entry entry = entries.get(key);
    return entry == null || entry.value() instanceof Null ? null : entry.value();
  }

  /** Reports every key outside {@code allowed}. */
  void rejectUnknown(Collection<String> allowed) {
    TreeSet<String> sorted = new TreeSet<>(allowed);
    for (Entry entry : mapping.entries()) {
      if (!sorted.contains(entry.key())) {
        diagnostics.error(entry.keyMark(), childPath(entry.key()), Nodes.unknownField(entry.key(), sorted));
      }
    }
  }

  /** A string field; null when absent or not a string. */
  Located<String> string(String key) {
    YamlNode node = node(key);
    if (node == null) {
      return null;
    }
    String text = stringValue(diagnostics, node, childPath(key));
    return text == null ? null : new Located<>(text, node.mark(), childPath(key));
  }

  /** A boolean field ({@code true}/{@code false}, unquoted); null when absent or not a boolean. */
  Boolean bool(String key) {
    YamlNode node = node(key);
    if (node == null) {
      return null;
    }
    if (node instanceof Scalar scalar && scalar.type() == Scalar.Type.BOOLEAN) {
      return switch (scalar.text().toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on", "y" -> Boolean.TRUE;
        default -> Boolean.FALSE;
      };
    }
    mismatch(diagnostics, node, childPath(key), "must be a boolean (true or false)");
    return null;
  }

  /** A nested mapping; null when absent or not a mapping. */
  Fields mapping(String key) {
    YamlNode node = node(key);
    return node == null ? null : of(diagnostics, node, childPath(key));
  }

  /** A list field's items (null items included); null when absent or not a list. */
  List<YamlNode> list(String key) {
    YamlNode node = node(key);
    if (node == null) {
      return null;
    }
    if (node instanceof Sequence sequence) {
      return sequence.items();
    }
    mismatch(diagnostics, node, childPath(key), "must be a list");
    return null;
  }

  /** Where a list field is written (its first item, or the key for {@code []}). */
  Mark listMark(String key) {
    YamlNode node = node(key);
    return node == null ? keyMark(key) : node.mark();
  }

  /**
   * A list of strings; null when absent or not a list. Items that are not strings are reported
   * and left out.
   */
  List<Located<String>> strings(String key) {
    List<YamlNode> items = list(key);
    if (items == null) {
      return null;
    }
    List<Located<String>> values = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      YamlNode item = items.get(i);
      String itemPath = Nodes.element(childPath(key), i);
      String text = stringValue(diagnostics, item, itemPath);
      if (text != null) {
        values.add(new Located<>(text, item.mark(), itemPath));
      }
    }
    return values;
  }

  /** A map of strings ({@code matchLabels}, {@code annotations}); null when absent or not a mapping. */
  Map<String, Located<String>> stringMap(String key) {
    YamlNode node = node(key);
    if (node == null) {
      return null;
    }
    if (!(node instanceof Mapping map)) {
      mismatch(diagnostics, node, childPath(key), "must be a mapping");
      return null;
    }
    Map<String, Located<String>> values = new LinkedHashMap<>();
    for (Entry entry : map.entries()) {
      String entryPath = Nodes.child(childPath(key), entry.key());
      String text = entry.value() instanceof Null ? null : stringValue(diagnostics, entry.value(), entryPath);
      if (entry.value() instanceof Null) {
        diagnostics.error(entry.value().mark(), entryPath, "must be a string, found null");
      }
      if (text != null) {
        values.put(entry.key(), new Located<>(text, entry.keyMark(), entryPath));
      }
    }
    return values;
  }

  /** The text of a string scalar; reports anything else (numbers and booleans included). */
  static String stringValue(Diagnostics diagnostics, YamlNode node, String path) {
    if (node instanceof Scalar scalar && scalar.type() == Scalar.Type.STRING) {
      return scalar.text();
    }
    if (node instanceof Scalar scalar) {
      // What kubectl would say, plus the fix: YAML reads 8080 and true as a number and a boolean.
      diagnostics.error(node.mark(), path, "must be a string, found " + Nodes.describe(node) + "; quote it: "
          + Nodes.quote(scalar.text()));
      return null;
    }
    mismatch(diagnostics, node, path, "must be a string");
    return null;
  }

  /** Reports {@code node} as not what {@code expectation} says ("must be a mapping"). */
  static void mismatch(Diagnostics diagnostics, YamlNode node, String path, String expectation) {
    if (node instanceof Alias alias) {
      diagnostics.error(node.mark(), path, "YAML aliases are not supported, found " + Nodes.quote("*" + alias.anchor())
          + "; write the value out");
    } else {
      diagnostics.error(node.mark(), path, expectation + ", found " + Nodes.describe(node));
    }
  }
}

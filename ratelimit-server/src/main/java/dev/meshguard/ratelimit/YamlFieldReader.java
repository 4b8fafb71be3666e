package dev.meshguard.ratelimit;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.ratelimit.YamlTree.Entry;
import dev.meshguard.ratelimit.YamlTree.Mapping;
import dev.meshguard.ratelimit.YamlTree.Node;
import dev.meshguard.ratelimit.YamlTree.Null;
import dev.meshguard.ratelimit.YamlTree.Scalar;
import java.util.List;

/**
 * Typed reads of {@link YamlTree} nodes for the config readers of this module (rate-limit configs,
 * tenant quotas): a value of the wrong type is an error at its position, collected in
 * {@code errors} so that a file reports every mistake at once.
 */
abstract class YamlFieldReader {
  final String source;
  final List<ConfigError> errors;
  private final boolean booleansAreStrings;

  /**
   * @param source the file name errors carry
   * @param errors where errors are collected
   * @param booleansAreStrings whether {@code true}/{@code yes}/... read as strings (envoyproxy/ratelimit's
   *     configs take {@code value: true} as the text "true"; our own formats refuse it)
   */
  YamlFieldReader(String source, List<ConfigError> errors, boolean booleansAreStrings) {
    this.source = source;
    this.errors = errors;
    this.booleansAreStrings = booleansAreStrings;
  }

  /** A scalar's text, "" for null; otherwise an error and null. */
  final String string(Node node, String path) {
    if (node instanceof Scalar scalar && (booleansAreStrings || !scalar.isBoolean())) {
      return scalar.text();
    }
    if (node instanceof Null) {
      return "";
    }
    error(node, path, "must be a string");
    return null;
  }

  /** A YAML 1.1 boolean ({@code true}, {@code yes}, {@code on}, {@code y}), false when absent or null. */
  final boolean bool(Entry entry, String path) {
    if (entry == null || entry.value() instanceof Null) {
      return false;
    }
    if (entry.value() instanceof Scalar scalar && scalar.isBoolean()) {
      return Boolean.parseBoolean(scalar.text()) || scalar.text().equalsIgnoreCase("yes")
          || scalar.text().equalsIgnoreCase("on") || scalar.text().equalsIgnoreCase("y");
    }
    error(entry.value(), path, "must be true or false");
    return false;
  }

  /** The entry of {@code mapping} named {@code key}, or null. */
  static Entry entry(Mapping mapping, String key) {
    for (Entry e : mapping.entries()) {
      if (e.key().equals(key)) {
        return e;
      }
    }
    return null;
  }

  final void error(Node at, String path, String message) {
    errors.add(new ConfigError(source, at.line(), at.column(), path, message));
  }
}

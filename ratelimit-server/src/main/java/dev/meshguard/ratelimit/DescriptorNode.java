package dev.meshguard.ratelimit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One level of a domain's compiled descriptor tree. Lookups are by key, then value, in nested
 * maps, so a request key {@code a} with value {@code b_c} can never hit a configured key
 * {@code a_b} with value {@code c} (envoyproxy/ratelimit joins them with {@code _} into one map
 * key, which can). Immutable once built.
 *
 * @param limit the {@code rate_limit} of the descriptor this node was compiled from; null for the
 *     domain root and for descriptors without one
 * @param byKeyValue children with a {@code value}, by key then value (wildcard ones included, so a
 *     request whose value is the pattern text itself matches exactly, as upstream)
 * @param wildcards children whose value contains {@code *}, in config order
 * @param byKey children without a {@code value} (key-only defaults), by key
 */
record DescriptorNode(
    RateLimit limit,
    Map<String, Map<String, DescriptorNode>> byKeyValue,
    List<Wildcard> wildcards,
    Map<String, DescriptorNode> byKey) {

  record Wildcard(String key, WildcardPattern pattern, DescriptorNode node) {}

  DescriptorNode {
    Map<String, Map<String, DescriptorNode>> copy = new LinkedHashMap<>();
    byKeyValue.forEach((k, v) -> copy.put(k, Map.copyOf(v)));
    byKeyValue = Map.copyOf(copy);
    wildcards = List.copyOf(wildcards);
    byKey = Map.copyOf(byKey);
  }

  boolean hasChildren() {
    return !byKeyValue.isEmpty() || !byKey.isEmpty();
  }

  /**
   * The child one request entry selects, as envoyproxy/ratelimit's {@code GetLimit} does at each
   * level: exact key and value; else the first wildcard of this level, in config order, whose key
   * is equal and whose pattern matches the value; else the key-only child. Null when none.
   */
  DescriptorNode child(String key, String value) {
    Map<String, DescriptorNode> values = byKeyValue.get(key);
    if (values != null) {
      DescriptorNode exact = values.get(value);
      if (exact != null) {
        return exact;
      }
    }
    for (Wildcard wildcard : wildcards) {
      if (wildcard.key.equals(key) && wildcard.pattern.matches(value)) {
        return wildcard.node;
      }
    }
    return byKey.get(key);
  }
}

package dev.meshguard.policy.model;

import java.util.List;
import java.util.Objects;

/**
 * {@code rules[].when[]}: {@code key} matches one of {@code values} (when set) and none of
 * {@code notValues} (when set).
 *
 * @param key e.g. {@code request.headers[x-token]}, {@code source.ip}; empty for a CEL condition
 * @param cel meshguard.dev/v1 only: a CEL expression over the request attributes, or null.
 *     Istio-versioned resources never carry one (the parser rejects it there).
 */
public record Condition(String key, List<String> values, List<String> notValues, String cel) {
  public Condition {
    Objects.requireNonNull(key, "key");
    values = List.copyOf(values);
    notValues = List.copyOf(notValues);
  }

  public static Condition of(String key, List<String> values, List<String> notValues) {
    return new Condition(key, values, notValues, null);
  }
}

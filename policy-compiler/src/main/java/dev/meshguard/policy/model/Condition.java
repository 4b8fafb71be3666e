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
 * @param position where the condition was written ({@link Position#UNKNOWN} when not known);
 *     CEL compile errors point here
 */
public record Condition(String key, List<String> values, List<String> notValues, String cel, Position position) {
  public Condition {
    Objects.requireNonNull(key, "key");
    values = List.copyOf(values);
    notValues = List.copyOf(notValues);
    position = position == null ? Position.UNKNOWN : position;
  }

  /** A condition whose position is not known. */
  public Condition(String key, List<String> values, List<String> notValues, String cel) {
    this(key, values, notValues, cel, Position.UNKNOWN);
  }

  public static Condition of(String key, List<String> values, List<String> notValues) {
    return new Condition(key, values, notValues, null, Position.UNKNOWN);
  }

  /** A meshguard.dev/v1 CEL condition. */
  public static Condition cel(String expression, Position position) {
    return new Condition("", List.of(), List.of(), Objects.requireNonNull(expression, "expression"), position);
  }
}

package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A structured value an event carries beside its flat fields, such as the quota before and after a
 * change ({@code object.before}, {@code object.after}): JSON objects, arrays, strings, integers and
 * booleans, immutable.
 *
 * <p>Floating-point numbers and nulls inside arrays are refused, and null members of objects are
 * left out, so that a value has exactly one written form: the log writes members sorted by key at
 * every level, compactly, as it writes the rest of the line (see {@link EventLine}). A producer
 * with a ratio or a percentage writes it as a string or as an integer of a smaller unit.
 */
public sealed interface AuditValue {

  /** A JSON string. */
  record Str(String value) implements AuditValue {
    public Str {
      Objects.requireNonNull(value, "value");
    }
  }

  /** A JSON integer. */
  record Num(long value) implements AuditValue {}

  /** {@code true} or {@code false}. */
  record Bool(boolean value) implements AuditValue {}

  /** A JSON array. */
  record Arr(List<AuditValue> items) implements AuditValue {
    public Arr {
      items = List.copyOf(items); // refuses null items
    }
  }

  /** A JSON object, its members sorted by key. */
  record Obj(SortedMap<String, AuditValue> members) implements AuditValue {
    public Obj {
      TreeMap<String, AuditValue> copy = new TreeMap<>();
      members.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "key"), Objects.requireNonNull(v, k)));
      members = Collections.unmodifiableSortedMap(copy);
    }

    public Obj(Map<String, AuditValue> members) {
      this(new TreeMap<>(members));
    }
  }

  /**
   * The value of JSON text.
   *
   * @return null for the JSON literal {@code null}
   * @throws IllegalArgumentException when the text is not JSON, or holds a floating-point number
   *     or a null inside an array
   */
  static AuditValue parse(String json) {
    Objects.requireNonNull(json, "json");
    try {
      return of(EventLine.JSON.readTree(json));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * The value of a Jackson tree.
   *
   * @return null for a missing node or a JSON null
   * @throws IllegalArgumentException for a floating-point number or a null inside an array
   */
  static AuditValue of(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (node.isTextual()) {
      return new Str(node.textValue());
    }
    if (node.isBoolean()) {
      return new Bool(node.booleanValue());
    }
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      return new Num(node.longValue());
    }
    if (node.isArray()) {
      List<AuditValue> items = new ArrayList<>(node.size());
      for (JsonNode item : node) {
        AuditValue value = of(item);
        if (value == null) {
          throw new IllegalArgumentException("a null inside an array has no place in an audit value");
        }
        items.add(value);
      }
      return new Arr(items);
    }
    if (node.isObject()) {
      TreeMap<String, AuditValue> members = new TreeMap<>();
      for (Map.Entry<String, JsonNode> member : node.properties()) {
        AuditValue value = of(member.getValue());
        if (value != null) {
          members.put(member.getKey(), value);
        }
      }
      return new Obj(members);
    }
    throw new IllegalArgumentException("an audit value holds objects, arrays, strings, integers and booleans, not "
        + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + node);
  }

  /** This value as compact JSON, members sorted: the form the log writes. */
  default String toJson() {
    JsonLineWriter writer = new JsonLineWriter();
    writer.value(this);
    return new String(writer.toByteArray(), java.nio.charset.StandardCharsets.UTF_8);
  }
}

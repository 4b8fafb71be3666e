package dev.meshguard.bench;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The figures of one suite run, in the order they were put: what {@code bench/run} prints as its
 * last line, one compact JSON object with snake_case keys. Fractional figures are rounded to three
 * decimals; none of our measurements is finer than that.
 */
final class Figures {
  private static final Pattern SNAKE_CASE = Pattern.compile("[a-z][a-z0-9]*(_[a-z0-9]+)*");
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private final Map<String, Object> values = new LinkedHashMap<>();

  Figures put(String key, String value) {
    return set(key, Objects.requireNonNull(value, "value"));
  }

  Figures put(String key, long value) {
    return set(key, value);
  }

  Figures put(String key, boolean value) {
    return set(key, value);
  }

  /** Puts a fractional figure, rounded to three decimals. */
  Figures put(String key, double value) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException(key + " must be a finite number, found " + value);
    }
    return set(key, BigDecimal.valueOf(value).setScale(3, RoundingMode.HALF_EVEN).stripTrailingZeros());
  }

  /** Puts a group of figures as one nested JSON object (e.g. {@code ratios}, {@code goals}). */
  Figures put(String key, Figures group) {
    return set(key, new LinkedHashMap<>(Objects.requireNonNull(group, "group").values));
  }

  /** Puts every figure of {@code other}, after the ones already here. */
  Figures putAll(Figures other) {
    other.values.forEach(this::set);
    return this;
  }

  /** The figures; a nested group is a {@code Map<String, Object>} of its own. */
  Map<String, Object> asMap() {
    return Collections.unmodifiableMap(values);
  }

  /** The figures as one line of JSON (no newline). */
  String toJsonLine() {
    try {
      return JSON.writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("figures of strings, numbers and booleans always serialise", e);
    }
  }

  private Figures set(String key, Object value) {
    Objects.requireNonNull(key, "key");
    if (!SNAKE_CASE.matcher(key).matches()) {
      throw new IllegalArgumentException("figure keys are snake_case, found \"" + key + "\"");
    }
    if (values.putIfAbsent(key, value) != null) {
      throw new IllegalArgumentException("figure \"" + key + "\" is already set");
    }
    return this;
  }
}

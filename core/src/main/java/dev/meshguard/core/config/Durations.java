package dev.meshguard.core.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Map;

/**
 * Durations written the way Go's {@code time.ParseDuration} and Envoy's YAML write them: a
 * sequence of decimal numbers, each with an optional fraction and a unit, such as
 * {@code 250ms}, {@code 1.5s}, {@code 1h30m}; units are {@code ns}, {@code us} (or {@code µs}),
 * {@code ms}, {@code s}, {@code m}, {@code h}. A leading sign is allowed, as in Go, and
 * {@code 0} is the only number allowed without a unit. Fractions finer than a nanosecond are
 * truncated, and the total must fit in a signed 64-bit count of nanoseconds (about 292 years),
 * as in Go. There are no days: a day is not always 24 hours.
 */
public final class Durations {

  static final String UNITS = "ns, us, ms, s, m, h";

  private static final Map<String, Long> NANOS_PER_UNIT = Map.of(
      "ns", 1L,
      "us", 1_000L,
      "\u00b5s", 1_000L, // micro sign
      "\u03bcs", 1_000L, // Greek mu
      "ms", 1_000_000L,
      "s", 1_000_000_000L,
      "m", 60_000_000_000L,
      "h", 3_600_000_000_000L);

  /** Longer numbers are never meaningful, and capping them keeps BigDecimal parsing linear. */
  private static final int MAX_NUMBER_CHARS = 40;

  private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);

  private Durations() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException with the reason, e.g. {@code unknown unit "d"}, for the
   *     caller to put in a {@link ConfigError}
   */
  public static Duration parse(String text) {
    int i = 0;
    boolean negative = false;
    if (i < text.length() && (text.charAt(i) == '-' || text.charAt(i) == '+')) {
      negative = text.charAt(i) == '-';
      i++;
    }
    if (text.substring(i).equals("0")) {
      return Duration.ZERO;
    }
    if (i == text.length()) {
      throw new IllegalArgumentException("it is empty");
    }
    BigDecimal nanos = BigDecimal.ZERO;
    while (i < text.length()) {
      int numberStart = i;
      while (i < text.length() && (isDigit(text.charAt(i)) || text.charAt(i) == '.')) {
        i++;
      }
      String number = text.substring(numberStart, i);
      if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
        throw new IllegalArgumentException(number.isEmpty()
            ? "expected a number at position " + (numberStart + 1)
            : "malformed number " + KeyNames.quote(number));
      }
      if (number.length() > MAX_NUMBER_CHARS) {
        throw new IllegalArgumentException("number too long");
      }
      int unitStart = i;
      while (i < text.length() && !isDigit(text.charAt(i)) && text.charAt(i) != '.') {
        i++;
      }
      String unit = text.substring(unitStart, i);
      if (unit.isEmpty()) {
        throw new IllegalArgumentException("missing unit after " + KeyNames.quote(number) + "; units are " + UNITS);
      }
      Long perUnit = NANOS_PER_UNIT.get(unit);
      if (perUnit == null) {
        throw new IllegalArgumentException("unknown unit " + KeyNames.quote(unit) + "; units are " + UNITS);
      }
      nanos = nanos.add(new BigDecimal(number).multiply(BigDecimal.valueOf(perUnit)));
      if (nanos.compareTo(MAX_NANOS) > 0) {
        throw new IllegalArgumentException("too large; the largest duration is about 292 years");
      }
    }
    long whole = nanos.setScale(0, RoundingMode.DOWN).longValueExact();
    return Duration.ofNanos(negative ? -whole : whole);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}

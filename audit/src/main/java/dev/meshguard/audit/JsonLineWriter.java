package dev.meshguard.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;

/**
 * A minimal compact-JSON writer into a reusable byte buffer, for the audit writer's hot loop.
 *
 * <p>Written by hand because Jackson's generator, reused, still cost about 1.5 µs per event on our
 * two-core machines (three times the SHA-256 of the same line; measured while tuning bench/run
 * audit-write), and the audit schema needs only objects, strings and integers with fixed ASCII
 * keys. Strings are escaped per RFC 8259 §7: {@code "} and {@code \} and control characters are
 * escaped, everything else is written as UTF-8; an unpaired surrogate is written as a
 * {@code \}{@code uXXXX} escape so the output is always valid JSON. Readers parse it with
 * Jackson; verifiers hash its bytes as written, so no canonical escaping is needed.
 *
 * <p>The caller writes keys in sorted order; this class does not check.
 */
final class JsonLineWriter {
  private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private byte[] buf = new byte[1024];
  private int len;
  private boolean needComma;
  // Keys are the schema's literals (and header names): their encoded form, "key":, is kept.
  private final java.util.HashMap<String, byte[]> keys = new java.util.HashMap<>();
  // The time's text up to the seconds, for the last second written: events come in bursts.
  private long cachedSecond = Long.MIN_VALUE;
  private final byte[] cachedSecondText = new byte[20];

  void reset() {
    len = 0;
    needComma = false;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, len);
  }

  void startObject() {
    ensure(1);
    buf[len++] = '{';
    needComma = false;
  }

  void endObject() {
    ensure(1);
    buf[len++] = '}';
    needComma = true;
  }

  /** Starts {@code "name":{}. */
  void startObject(String name) {
    key(name);
    startObject();
  }

  /** Writes {@code "name":"value"}; nothing when value is null. */
  void field(String name, String value) {
    if (value == null) {
      return;
    }
    key(name);
    string(value);
    needComma = true;
  }

  void field(String name, long value) {
    key(name);
    String digits = Long.toString(value);
    ensure(digits.length());
    for (int i = 0; i < digits.length(); i++) {
      buf[len++] = (byte) digits.charAt(i);
    }
    needComma = true;
  }

  /** Writes {@code "name":"<RFC 3339 UTC with nine fractional digits>"}. */
  void field(String name, Instant time) {
    key(name);
    ensure(32);
    buf[len++] = '"';
    if (time.getEpochSecond() != cachedSecond) {
      LocalDateTime t = LocalDateTime.ofEpochSecond(time.getEpochSecond(), 0, ZoneOffset.UTC);
      int year = t.getYear();
      if (year < 0 || year > 9999) {
        throw new IllegalArgumentException("audit times must lie in years 0000-9999: " + time);
      }
      int start = len;
      digits(year, 4);
      buf[len++] = '-';
      digits(t.getMonthValue(), 2);
      buf[len++] = '-';
      digits(t.getDayOfMonth(), 2);
      buf[len++] = 'T';
      digits(t.getHour(), 2);
      buf[len++] = ':';
      digits(t.getMinute(), 2);
      buf[len++] = ':';
      digits(t.getSecond(), 2);
      System.arraycopy(buf, start, cachedSecondText, 0, 19);
      cachedSecond = time.getEpochSecond();
    } else {
      System.arraycopy(cachedSecondText, 0, buf, len, 19);
      len += 19;
    }
    buf[len++] = '.';
    digits(time.getNano(), 9);
    buf[len++] = 'Z';
    buf[len++] = '"';
    needComma = true;
  }

  private void digits(int value, int width) {
    for (int i = width - 1; i >= 0; i--) {
      buf[len + i] = (byte) ('0' + value % 10);
      value /= 10;
    }
    len += width;
  }

  private void key(String name) {
    byte[] encoded = keys.get(name);
    if (encoded == null) {
      int start = len;
      string(name);
      encoded = Arrays.copyOfRange(buf, start, len);
      len = start;
      if (keys.size() < 1024) { // header names come from requests: bound what is kept
        keys.put(name, encoded);
      }
    }
    ensure(encoded.length + 2);
    if (needComma) {
      buf[len++] = ',';
    }
    System.arraycopy(encoded, 0, buf, len, encoded.length);
    len += encoded.length;
    buf[len++] = ':';
  }

  private void string(String s) {
    ensure(s.length() * 6 + 2); // worst case: every char a six-byte escape
    buf[len++] = '"';
    // Fast path, taken by nearly every audit string: printable ASCII needing no escape is copied
    // as the bytes String.getBytes produces (an intrinsic), instead of char by char.
    byte[] ascii = s.getBytes(StandardCharsets.UTF_8);
    if (isPlainAscii(ascii)) {
      System.arraycopy(ascii, 0, buf, len, ascii.length);
      len += ascii.length;
      buf[len++] = '"';
      return;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        buf[len++] = (byte) c;
      } else if (c == '"' || c == '\\') {
        buf[len++] = '\\';
        buf[len++] = (byte) c;
      } else if (c < 0x20) {
        switch (c) {
          case '\n' -> shortEscape('n');
          case '\r' -> shortEscape('r');
          case '\t' -> shortEscape('t');
          case '\b' -> shortEscape('b');
          case '\f' -> shortEscape('f');
          default -> unicodeEscape(c);
        }
      } else if (c < 0x800) {
        buf[len++] = (byte) (0xC0 | (c >> 6));
        buf[len++] = (byte) (0x80 | (c & 0x3F));
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        buf[len++] = (byte) (0xF0 | (cp >> 18));
        buf[len++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        buf[len++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        buf[len++] = (byte) (0x80 | (cp & 0x3F));
      } else if (Character.isSurrogate(c)) {
        unicodeEscape(c); // unpaired: UTF-8 cannot carry it, an escape can
      } else {
        buf[len++] = (byte) (0xE0 | (c >> 12));
        buf[len++] = (byte) (0x80 | ((c >> 6) & 0x3F));
        buf[len++] = (byte) (0x80 | (c & 0x3F));
      }
    }
    buf[len++] = '"';
  }

  private static boolean isPlainAscii(byte[] bytes) {
    for (byte b : bytes) {
      // Negative: a UTF-8 multi-byte sequence (and perhaps a replaced unpaired surrogate).
      if (b < 0x20 || b == '"' || b == '\\') {
        return false;
      }
    }
    return true;
  }

  private void shortEscape(char c) {
    buf[len++] = '\\';
    buf[len++] = (byte) c;
  }

  private void unicodeEscape(char c) {
    buf[len++] = '\\';
    buf[len++] = 'u';
    buf[len++] = HEX_DIGITS[(c >> 12) & 0xF];
    buf[len++] = HEX_DIGITS[(c >> 8) & 0xF];
    buf[len++] = HEX_DIGITS[(c >> 4) & 0xF];
    buf[len++] = HEX_DIGITS[c & 0xF];
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }
}

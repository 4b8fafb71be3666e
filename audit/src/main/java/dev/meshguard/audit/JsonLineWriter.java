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
 * keys (and, for {@link AuditValue}s, arrays and booleans). Strings are escaped per RFC 8259 §7: {@code "} and {@code \} and control characters are
 * escaped, everything else is written as UTF-8; an unpaired surrogate is written as a
 * {@code \}{@code uXXXX} escape so the output is always valid JSON. Readers parse it with
 * Jackson; verifiers hash its bytes as written, so no canonical escaping is needed.
 *
 * <p>The caller writes keys in sorted order; this class does not check. Values meshguard makes
 * itself (numbers, times, hashes) are written without escape checks: their characters are digits,
 * hex digits and {@code -:.TZ}, none of which JSON escapes.
 *
 * <p>The buffer may hold many lines (the audit writer encodes a whole batch into it and writes it
 * with one call): {@link #length()} and {@link #buffer()} expose it without a copy.
 */
final class JsonLineWriter {
  private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] LONG_MIN = Long.toString(Long.MIN_VALUE).getBytes(StandardCharsets.US_ASCII);

  /** A member name encoded once ({@code "name"}), for the schema's fixed keys: no map look-up per use. */
  static final class Key {
    private final byte[] quoted;

    Key(String name) {
      JsonLineWriter w = new JsonLineWriter();
      w.string(name);
      this.quoted = w.toByteArray();
    }
  }

  private byte[] buf = new byte[1024];
  private char[] chars = new char[256];
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

  /** Bytes written since {@link #reset()}. */
  int length() {
    return len;
  }

  /** The buffer holding the {@link #length()} bytes written; replaced when it grows, so read it after writing. */
  byte[] buffer() {
    return buf;
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

  /** As {@link #field(String, String)} with a pre-encoded name. */
  void field(Key name, String value) {
    if (value == null) {
      return;
    }
    key(name.quoted);
    string(value);
    needComma = true;
  }

  void field(String name, long value) {
    key(name);
    number(value);
  }

  void field(Key name, long value) {
    key(name.quoted);
    number(value);
  }

  /** Writes {@code "name":VALUE} (see {@link #value}); nothing when value is null. */
  void field(Key name, AuditValue value) {
    if (value == null) {
      return;
    }
    key(name.quoted);
    value(value);
  }

  /**
   * Writes a structured value where a value belongs (after a key, or alone): objects with their
   * members in key order (an {@link AuditValue.Obj} keeps them sorted), arrays in order, strings
   * escaped as every other string, integers, {@code true} and {@code false}.
   */
  void value(AuditValue value) {
    switch (value) {
      case AuditValue.Str s -> {
        string(s.value());
        needComma = true;
      }
      case AuditValue.Num n -> number(n.value());
      case AuditValue.Bool b -> {
        byte[] literal = b.value() ? TRUE : FALSE;
        ensure(literal.length);
        System.arraycopy(literal, 0, buf, len, literal.length);
        len += literal.length;
        needComma = true;
      }
      case AuditValue.Arr a -> {
        ensure(1);
        buf[len++] = '[';
        boolean first = true;
        for (AuditValue item : a.items()) {
          if (!first) {
            ensure(1);
            buf[len++] = ',';
          }
          first = false;
          value(item);
        }
        ensure(1);
        buf[len++] = ']';
        needComma = true;
      }
      case AuditValue.Obj o -> {
        startObject();
        for (var member : o.members().entrySet()) {
          key(member.getKey());
          value(member.getValue());
        }
        endObject();
      }
    }
  }

  /** Writes {@code "name":"<lower-case hex of bytes>"}. */
  void hexField(Key name, byte[] bytes) {
    key(name.quoted);
    ensure(bytes.length * 2 + 2);
    buf[len++] = '"';
    hex(bytes);
    buf[len++] = '"';
    needComma = true;
  }

  /** Starts {@code "name":{}. */
  void startObject(Key name) {
    key(name.quoted);
    startObject();
  }

  /**
   * Turns the object just ended into a line: the member {@code "name":"<hex of bytes>"} is added
   * as its last, then a newline. The line's bytes up to here are what the caller hashed.
   */
  void endLine(Key name, byte[] bytes) {
    len--; // the closing brace
    key(name.quoted);
    ensure(bytes.length * 2 + 4); // quote, hex, quote, brace, newline
    buf[len++] = '"';
    hex(bytes);
    buf[len++] = '"';
    buf[len++] = '}';
    buf[len++] = '\n';
    needComma = false;
  }

  private void hex(byte[] bytes) {
    for (byte b : bytes) {
      buf[len++] = HEX_DIGITS[(b >> 4) & 0xF];
      buf[len++] = HEX_DIGITS[b & 0xF];
    }
  }

  // Digits straight into the buffer: Long.toString would allocate a String per number.
  private void number(long value) {
    ensure(LONG_MIN.length);
    if (value == Long.MIN_VALUE) {
      System.arraycopy(LONG_MIN, 0, buf, len, LONG_MIN.length);
      len += LONG_MIN.length;
    } else {
      if (value < 0) {
        buf[len++] = '-';
        value = -value;
      }
      int width = 1;
      for (long rest = value / 10; rest != 0; rest /= 10) {
        width++;
      }
      for (int i = len + width - 1; i >= len; i--) {
        buf[i] = (byte) ('0' + value % 10);
        value /= 10;
      }
      len += width;
    }
    needComma = true;
  }

  /** Writes {@code "name":"<RFC 3339 UTC with nine fractional digits>"}. */
  void field(Key name, Instant time) {
    key(name.quoted);
    time(time);
  }

  /** Writes {@code "name":"<RFC 3339 UTC with nine fractional digits>"}. */
  void field(String name, Instant time) {
    key(name);
    time(time);
  }

  private void time(Instant time) {
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
    key(encoded);
  }

  private void key(byte[] encoded) {
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
    // until the first char that needs care. The chars are fetched in bulk (getChars inflates a
    // Latin-1 string with a vectorised intrinsic) into a reused array, then narrowed in a plain
    // array loop; measured on the writer's strings, this beat both a charAt loop (a coder check
    // per char) and getBytes(UTF_8) plus a scan (an allocation per string, and getBytes turns an
    // unpaired surrogate into a plain '?', which the old scan then wrote instead of escaping it).
    int n = s.length();
    if (chars.length < n) {
      chars = new char[Math.max(n, chars.length * 2)];
    }
    char[] cs = chars;
    s.getChars(0, n, cs, 0);
    byte[] b = buf;
    int at = len;
    int i = 0;
    for (; i < n; i++) {
      char c = cs[i];
      // One unsigned compare for 0x20 <= c < 0x80.
      if ((char) (c - 0x20) >= 0x60 || c == '"' || c == '\\') {
        break;
      }
      b[at++] = (byte) c;
    }
    len = at;
    for (; i < n; i++) {
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

package dev.meshguard.authz;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Envoy's {@code x-forwarded-client-cert} header
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert">
 * Envoy docs</a>): elements separated by {@code ,}, each a list of {@code Key=Value} pairs
 * separated by {@code ;}, keys {@code By}, {@code Hash}, {@code Cert}, {@code Chain},
 * {@code Subject}, {@code URI}, {@code DNS} (case-insensitive). A value containing {@code ,},
 * {@code ;} or {@code =} is double-quoted, with {@code \"} escaping a quote inside. Envoy appends
 * one element per proxy hop, so the last element describes the client of the proxy that called us.
 *
 * <p>Written by hand: no maintained Java library parses XFCC, and the grammar is a few lines.
 */
final class Xfcc {
  private Xfcc() {}

  /** Refuses a header longer than this before parsing (a {@code Cert=} field is a few KiB). */
  static final int MAX_LENGTH = 64 * 1024;

  /**
   * The first {@code URI=} value of the last element; null when that element has none.
   *
   * @throws IllegalArgumentException when the header is not well-formed XFCC (an unterminated
   *     quote, a pair without {@code =}, an empty element)
   */
  static String lastUri(String header) {
    if (header.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("longer than " + MAX_LENGTH + " characters");
    }
    List<List<String[]>> elements = parse(header);
    for (String[] pair : elements.getLast()) {
      if (pair[0].equals("uri")) {
        return pair[1];
      }
    }
    return null;
  }

  /** Elements, each a list of {key (lower-case), value (unquoted)}. */
  static List<List<String[]>> parse(String header) {
    List<List<String[]>> elements = new ArrayList<>();
    List<String[]> element = new ArrayList<>();
    int i = 0;
    int n = header.length();
    while (true) {
      // key
      int eq = i;
      while (eq < n && header.charAt(eq) != '=' && header.charAt(eq) != ';' && header.charAt(eq) != ',') {
        eq++;
      }
      if (eq >= n || header.charAt(eq) != '=') {
        throw new IllegalArgumentException("a field without '=' at offset " + i);
      }
      String key = header.substring(i, eq).trim().toLowerCase(Locale.ROOT);
      if (key.isEmpty()) {
        throw new IllegalArgumentException("an empty key at offset " + i);
      }
      i = eq + 1;
      // value: quoted or up to the next separator
      String value;
      if (i < n && header.charAt(i) == '"') {
        StringBuilder sb = new StringBuilder();
        i++;
        boolean closed = false;
        while (i < n) {
          char c = header.charAt(i++);
          if (c == '\\' && i < n) {
            sb.append(header.charAt(i++));
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            sb.append(c);
          }
        }
        if (!closed) {
          throw new IllegalArgumentException("an unterminated quoted value for " + key);
        }
        value = sb.toString();
      } else {
        int end = i;
        while (end < n && header.charAt(end) != ';' && header.charAt(end) != ',') {
          end++;
        }
        value = header.substring(i, end).trim();
        i = end;
      }
      element.add(new String[] {key, value});
      while (i < n && header.charAt(i) == ' ') {
        i++;
      }
      if (i >= n) {
        elements.add(element);
        return elements;
      }
      char sep = header.charAt(i++);
      if (sep == ',') {
        elements.add(element);
        element = new ArrayList<>();
      } else if (sep != ';') {
        throw new IllegalArgumentException("unexpected '" + sep + "' at offset " + (i - 1));
      }
      while (i < n && header.charAt(i) == ' ') {
        i++;
      }
    }
  }
}

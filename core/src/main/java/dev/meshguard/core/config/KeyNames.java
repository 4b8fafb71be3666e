package dev.meshguard.core.config;

import java.util.Collection;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Naming rules shared by the reader, the schema, the binder and the overrides: snake_case keys,
 * key paths ({@code admin.port}, {@code servers[2].name}, {@code limits["a.b"]}), environment
 * variable names, quoting of found values, and "did you mean" suggestions.
 */
final class KeyNames {

  static final String ENV_PREFIX = "MESHGUARD_";

  /** Keys a record component may have: snake_case, so that env names stay unambiguous. */
  private static final Pattern SNAKE_KEY = Pattern.compile("[a-z0-9_]+");

  /** Map keys that print bare in a path; anything else is quoted: {@code limits["a.b"]}. */
  private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");

  /** Found values longer than this are cut in messages: a message is one readable line. */
  private static final int MAX_QUOTED_CHARS = 60;

  private KeyNames() {}

  /**
   * The snake_case form of a Java component name: {@code adminPort} is {@code admin_port},
   * {@code maxSegmentBytes} is {@code max_segment_bytes}, {@code httpURLPath} is
   * {@code http_url_path}, {@code ipv6Enabled} is {@code ipv6_enabled}.
   */
  static String snakeCase(String name) {
    StringBuilder sb = new StringBuilder(name.length() + 4);
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isUpperCase(c)) {
        boolean afterLowerOrDigit = i > 0
            && (Character.isLowerCase(name.charAt(i - 1)) || Character.isDigit(name.charAt(i - 1)));
        // The last capital of an acronym starts the next word: "URLPath" is "url_path".
        boolean endsAcronym = i > 0 && Character.isUpperCase(name.charAt(i - 1))
            && i + 1 < name.length() && Character.isLowerCase(name.charAt(i + 1));
        if (afterLowerOrDigit || endsAcronym) {
          sb.append('_');
        }
        sb.append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  static boolean isSnakeKey(String key) {
    return SNAKE_KEY.matcher(key).matches();
  }

  /**
   * The environment variable for a leaf key path: {@code admin.port} is
   * {@code MESHGUARD_ADMIN_PORT}, {@code audit.max_segment_bytes} is
   * {@code MESHGUARD_AUDIT_MAX_SEGMENT_BYTES}.
   */
  static String envName(String keyPath) {
    return ENV_PREFIX + keyPath.replace('.', '_').toUpperCase(Locale.ROOT);
  }

  /** {@code parent.key}, or {@code parent["odd key"]} for keys that are not plain words. */
  static String child(String parent, String key) {
    if (BARE_KEY.matcher(key).matches()) {
      return parent.isEmpty() ? key : parent + "." + key;
    }
    return parent + "[" + quote(key) + "]";
  }

  /** {@code parent[index]}, 0-based. */
  static String element(String parent, int index) {
    return parent + "[" + index + "]";
  }

  /** A value as a message shows it: double-quoted, escaped, cut when long. */
  static String quote(String text) {
    StringBuilder sb = new StringBuilder(Math.min(text.length(), MAX_QUOTED_CHARS) + 8).append('"');
    int end = Math.min(text.length(), MAX_QUOTED_CHARS);
    for (int i = 0; i < end; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '\r' -> sb.append("\\r");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    if (end < text.length()) {
      sb.append("...");
    }
    return sb.append('"').toString();
  }

  /**
   * The message for a key that is not in {@code allowed} (sorted): names the allowed keys and,
   * when the key looks like a typo or a camelCase spelling of one, suggests it.
   */
  static String unknownKey(String key, Collection<String> allowed) {
    StringBuilder sb = new StringBuilder("unknown key ").append(quote(key));
    if (allowed.isEmpty()) {
      return sb.append("; this section takes no keys").toString();
    }
    String suggestion = closest(key, allowed);
    if (suggestion != null) {
      sb.append("; did you mean ").append(quote(suggestion)).append("? allowed keys: ");
    } else {
      sb.append("; allowed keys: ");
    }
    return sb.append(String.join(", ", allowed)).toString();
  }

  /**
   * The allowed key {@code key} most likely misspells, or null. A camelCase or dashed spelling
   * of an allowed key always matches; otherwise the optimal-string-alignment distance (typos
   * and swapped letters) must be small for the key's length. Ties go to the first in order.
   */
  static String closest(String key, Collection<String> allowed) {
    String normalized = snakeCase(key).replace('-', '_').toLowerCase(Locale.ROOT);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : allowed) {
      if (candidate.equals(normalized)) {
        return candidate;
      }
      int limit = Math.min(3, Math.max(1, candidate.length() / 4));
      if (Math.abs(candidate.length() - normalized.length()) > limit) {
        continue;
      }
      int distance = distance(normalized, candidate);
      if (distance <= limit && distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** Optimal string alignment distance: Levenshtein plus transposition of adjacent characters. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}

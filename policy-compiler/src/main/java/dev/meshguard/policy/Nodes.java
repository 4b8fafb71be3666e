package dev.meshguard.policy;

import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Alias;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Naming and wording shared by the readers: key paths, quoted values, "found a list", "did you mean". */
final class Nodes {

  /** Keys that print bare in a path; anything else is quoted: {@code matchLabels["app.kubernetes.io/name"]}. */
  private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");

  /** Values longer than this are cut in messages: a message is one readable line. */
  private static final int MAX_QUOTED_CHARS = 80;

  /** Fields of newer Istio APIs that meshguard does not read yet: refused with a reason, never ignored. */
  private static final Map<String, String> UNSUPPORTED_FIELDS = Map.of(
      "trustDomains", "trustDomains (Istio's extended-channel Source field) is not supported by meshguard",
      "notTrustDomains", "notTrustDomains (Istio's extended-channel Source field) is not supported by meshguard");

  private Nodes() {}

  static String child(String parent, String key) {
    if (BARE_KEY.matcher(key).matches()) {
      return parent.isEmpty() ? key : parent + "." + key;
    }
    return parent + "[" + quote(key) + "]";
  }

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
          if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !validSurrogateAt(text, i)) {
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

  private static boolean validSurrogateAt(String text, int i) {
    char c = text.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
  }

  /** What a node is, for "must be a string, found ..." messages. */
  static String describe(YamlNode node) {
    return switch (node) {
      case Mapping m -> "a mapping";
      case Sequence s -> "a list";
      case Null n -> "null";
      case Alias a -> "an alias";
      case Scalar s -> switch (s.type()) {
        case STRING -> "the string " + quote(s.text());
        case INTEGER -> "the integer " + s.text();
        case FLOAT -> "the number " + s.text();
        case BOOLEAN -> "the boolean " + s.text();
      };
    };
  }

  /**
   * The message for a key that is not a field of the object: names the allowed fields (sorted)
   * and, when the key looks like a typo or another spelling of one, suggests it.
   */
  static String unknownField(String key, Collection<String> allowedSorted) {
    StringBuilder sb = new StringBuilder("unknown field ").append(quote(key));
    if (allowedSorted.isEmpty()) {
      return sb.append("; this object takes no fields").toString();
    }
    String hint = UNSUPPORTED_FIELDS.get(key);
    if (hint != null) {
      return sb.append(": ").append(hint).toString();
    }
    String suggestion = closest(key, allowedSorted);
    if (suggestion != null) {
      sb.append("; did you mean ").append(quote(suggestion)).append("?");
    } else {
      sb.append(";");
    }
    return sb.append(" allowed fields: ").append(String.join(", ", allowedSorted)).toString();
  }

  /**
   * The allowed key {@code key} most likely misspells, or null: the same letters in another
   * spelling ({@code not_principals}, {@code NotPrincipals}), or a small optimal-string-alignment
   * distance (typos, swapped letters) for the key's length.
   */
  static String closest(String key, Collection<String> allowed) {
    String normalized = normalize(key);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : allowed) {
      String target = normalize(candidate);
      if (target.equals(normalized)) {
        return candidate;
      }
      int limit = Math.min(3, Math.max(1, target.length() / 4));
      if (Math.abs(target.length() - normalized.length()) > limit) {
        continue;
      }
      int distance = distance(normalized, target);
      if (distance <= limit && distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return best;
  }

  private static String normalize(String key) {
    return key.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT);
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

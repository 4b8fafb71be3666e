package dev.meshguard.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * A path template ({@code /api/{*}/items/{**}}) matched as Envoy's {@code uri_template} matcher
 * matches it, in linear time without a regex engine.
 *
 * <p>Istio turns {@code {*}} into {@code *} and {@code {**}} into {@code **}
 * (istio/istio {@code pilot/pkg/security/authz/matcher/template.go}); Envoy then parses the
 * template into segments separated by {@code /} and builds a full-match RE2 regex
 * (envoy {@code source/extensions/path/uri_template_lib/uri_template_internal.cc}): a literal
 * matches itself, {@code *} one or more path characters ({@code [a-zA-Z0-9-._~%!$&'()+,;:@]+}),
 * {@code **} zero or more path characters or slashes, and text right after an operator up to the
 * end is a literal suffix ({@code /**.mpd}). {@code **} must be the last operator.
 *
 * <p>Why no regex: after the template is split into literals and operators, every {@code *} is
 * followed by a literal that starts with {@code /} (which {@code *} cannot match) or by the final
 * suffix, and only literals follow {@code **}; so a greedy left-to-right scan decides the match
 * exactly, and each character is looked at a bounded number of times.
 */
final class PathTemplate {

  /** RFC 3986 pchar without {@code *} and {@code =}, as Envoy's {@code kLiteral}. */
  private static final String LITERAL_PUNCTUATION = "-._~%!$&'()+,;:@";

  private static final int LITERAL = 0;
  private static final int STAR = 1;
  private static final int DOUBLE_STAR = 2;

  private final String text;
  private final int[] kinds;
  private final String[] literals;

  private PathTemplate(String text, int[] kinds, String[] literals) {
    this.text = text;
    this.kinds = kinds;
    this.literals = literals;
  }

  /** True when {@code path} uses Istio's template syntax ({@code {*}} or {@code {**}}). */
  static boolean isTemplate(String path) {
    return path.contains("{*}") || path.contains("{**}");
  }

  /**
   * Parses an Istio path template the way Istio and Envoy do.
   *
   * @return null when Envoy would refuse the template (the caller makes it match nothing)
   */
  static PathTemplate parse(String istioPath) {
    String pattern = istioPath.replace("{**}", "**").replace("{*}", "*");
    if (pattern.isEmpty() || pattern.charAt(0) != '/') {
      return null;
    }
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c <= ' ' || c > '~') {
        return null; // Envoy: ^/[[:graph:]]*$
      }
    }
    List<Integer> kinds = new ArrayList<>();
    List<String> literals = new ArrayList<>();
    StringBuilder pendingLiteral = new StringBuilder("/");
    String rest = pattern.substring(1);
    boolean seenDoubleStar = false;
    while (!rest.isEmpty()) {
      boolean operator;
      if (rest.startsWith("**")) {
        if (seenDoubleStar) {
          return null;
        }
        flush(pendingLiteral, kinds, literals);
        kinds.add(DOUBLE_STAR);
        literals.add(null);
        seenDoubleStar = true;
        rest = rest.substring(2);
        operator = true;
      } else if (rest.startsWith("*")) {
        if (seenDoubleStar) {
          return null; // Envoy: "Glob after text glob."
        }
        flush(pendingLiteral, kinds, literals);
        kinds.add(STAR);
        literals.add(null);
        rest = rest.substring(1);
        operator = true;
      } else if (rest.startsWith("{")) {
        return null; // a named variable: Istio's validation refuses these, so they match nothing
      } else {
        int slash = rest.indexOf('/');
        String literal = slash < 0 ? rest : rest.substring(0, slash);
        if (!isValidLiteral(literal)) {
          return null;
        }
        pendingLiteral.append(literal);
        rest = rest.substring(literal.length());
        operator = false;
      }
      if (rest.isEmpty()) {
        break;
      }
      if (rest.equals("/")) {
        pendingLiteral.append('/'); // a trailing slash is an empty literal segment
        break;
      }
      if (rest.charAt(0) == '/') {
        pendingLiteral.append('/');
        rest = rest.substring(1);
        continue;
      }
      if (!operator) {
        return null; // unreachable: a literal runs up to the next slash
      }
      // Text right after an operator: a literal suffix that must end the template.
      if (rest.indexOf('/') >= 0 || !isValidLiteral(rest)) {
        return null;
      }
      pendingLiteral.append(rest);
      break;
    }
    flush(pendingLiteral, kinds, literals);
    int[] kindArray = kinds.stream().mapToInt(Integer::intValue).toArray();
    return new PathTemplate(istioPath, kindArray, literals.toArray(new String[0]));
  }

  private static void flush(StringBuilder literal, List<Integer> kinds, List<String> literals) {
    if (!literal.isEmpty()) {
      kinds.add(LITERAL);
      literals.add(literal.toString());
      literal.setLength(0);
    }
  }

  private static boolean isValidLiteral(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isLiteralChar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  static boolean isLiteralChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || LITERAL_PUNCTUATION.indexOf(c) >= 0;
  }

  /** The literal text before the first operator: every matching path starts with it. */
  String literalPrefix() {
    return kinds.length > 0 && kinds[0] == LITERAL ? literals[0] : "";
  }

  /** Full match of {@code s[from, to)}, which must already be without query and fragment. */
  boolean matches(String s, int from, int to) {
    int p = from;
    for (int i = 0; i < kinds.length; i++) {
      switch (kinds[i]) {
        case LITERAL -> {
          String literal = literals[i];
          if (to - p < literal.length() || !s.startsWith(literal, p)) {
            return false;
          }
          p += literal.length();
        }
        case STAR -> {
          boolean last = i == kinds.length - 1;
          String next = last ? null : literals[i + 1];
          if (next != null && next.charAt(0) != '/') {
            // The final literal suffix: the segment is [L]+ followed by it, up to the end.
            int suffixStart = to - next.length();
            if (suffixStart - p < 1 || !s.startsWith(next, suffixStart) || !allLiteral(s, p, suffixStart, false)) {
              return false;
            }
            return true;
          }
          int q = p;
          while (q < to && isLiteralChar(s.charAt(q))) {
            q++;
          }
          if (q == p) {
            return false;
          }
          p = q;
        }
        default -> {
          // DOUBLE_STAR: at most one literal (the merged rest) follows: [L/]* then that literal.
          String tail = i + 1 < kinds.length ? literals[i + 1] : "";
          int tailStart = to - tail.length();
          return tailStart >= p && s.startsWith(tail, tailStart) && allLiteral(s, p, tailStart, true);
        }
      }
    }
    return p == to;
  }

  private static boolean allLiteral(String s, int from, int to, boolean slashToo) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!isLiteralChar(c) && !(slashToo && c == '/')) {
        return false;
      }
    }
    return true;
  }

  /**
   * The RE2 regex Envoy builds for this template ({@code toRegexPattern}); tests compare the
   * scan above with it.
   */
  String envoyRegex() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < kinds.length; i++) {
      switch (kinds[i]) {
        case LITERAL -> sb.append(literals[i].replace("$", "\\$").replace("(", "\\(").replace(")", "\\)")
            .replace("+", "\\+").replace(".", "\\."));
        case STAR -> sb.append("[a-zA-Z0-9-._~%!$&'()+,;:@]+");
        default -> sb.append("[a-zA-Z0-9-._~%!$&'()+,;:@/]*");
      }
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return text;
  }
}

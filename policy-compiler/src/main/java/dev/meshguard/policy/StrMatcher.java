package dev.meshguard.policy;

import com.google.re2j.Pattern;

/**
 * One Envoy string matcher ({@code envoy.type.matcher.v3.StringMatcher} and the header-matcher
 * forms Istio generates), applied to a region {@code [from, to)} of a string so that the request
 * path can be matched without its query and a space-delimited claim token by token, without
 * copying either.
 *
 * <p>Case-insensitive forms fold ASCII only, as Envoy's {@code ignore_case} does
 * ({@code absl::EqualsIgnoreCase}).
 */
sealed interface StrMatcher {

  boolean matches(String s, int from, int to);

  default boolean matches(String s) {
    return matches(s, 0, s.length());
  }

  /** Envoy {@code exact}. */
  record Exact(String value, boolean ignoreCase) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return to - from == value.length() && regionEquals(s, from, value, 0, value.length(), ignoreCase);
    }
  }

  /** Envoy {@code prefix}. */
  record Prefix(String prefix, boolean ignoreCase) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return to - from >= prefix.length() && regionEquals(s, from, prefix, 0, prefix.length(), ignoreCase);
    }
  }

  /** Envoy {@code suffix}. */
  record Suffix(String suffix, boolean ignoreCase) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return to - from >= suffix.length()
          && regionEquals(s, to - suffix.length(), suffix, 0, suffix.length(), ignoreCase);
    }
  }

  /**
   * The regex {@code .+} Istio writes for {@code *}: at least one character and, RE2's {@code .}
   * not matching a newline, no {@code \n}.
   */
  record NonEmpty() implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      if (to <= from) {
        return false;
      }
      for (int i = from; i < to; i++) {
        if (s.charAt(i) == '\n') {
          return false;
        }
      }
      return true;
    }
  }

  /** A header {@code present_match}: the header exists, whatever its value (empty included). */
  record Present() implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return true;
    }
  }

  /**
   * The regex {@code <literal>.*<suffix>} Istio writes for a principal {@code *suffix} (the
   * {@code spiffe://} prefix, then anything without a newline, then the suffix), for suffixes
   * without regex metacharacters.
   */
  record PrefixAndSuffix(String prefix, String suffix) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      if (to - from < prefix.length() + suffix.length()
          || !s.startsWith(prefix, from)
          || !s.startsWith(suffix, to - suffix.length())) {
        return false;
      }
      for (int i = from + prefix.length(); i < to - suffix.length(); i++) {
        if (s.charAt(i) == '\n') {
          return false;
        }
      }
      return true;
    }
  }

  /** Envoy {@code safe_regex}: a full match, RE2 syntax, linear time (RE2J). */
  record Regex(Pattern pattern) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return pattern.matcher(s.subSequence(from, to)).matches();
    }

    @Override
    public String toString() {
      return "Regex[" + pattern.pattern() + "]";
    }
  }

  /** Envoy's {@code uri_template} path matcher. */
  record Template(PathTemplate template) implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return template.matches(s, from, to);
    }
  }

  /** Matches nothing: what a matcher Envoy would refuse (a bad regex or template) becomes. */
  record Never() implements StrMatcher {
    @Override
    public boolean matches(String s, int from, int to) {
      return false;
    }
  }

  StrMatcher NON_EMPTY = new NonEmpty();
  StrMatcher PRESENT = new Present();
  StrMatcher NEVER = new Never();

  /**
   * Istio's {@code StringMatcherWithPrefix(v, prefix)} (matcher/string.go): {@code *} is
   * {@code .+}; {@code *x} a suffix (a regex {@code prefix.*x} when there is a prefix);
   * {@code x*} a prefix; anything else exact, the prefix prepended.
   */
  static StrMatcher istio(String value, String prefix) {
    if (value.equals("*")) {
      return NON_EMPTY;
    }
    if (value.startsWith("*")) {
      String suffix = value.substring(1);
      if (prefix.isEmpty()) {
        return new Suffix(suffix, false);
      }
      return regexOrLiteral(prefix, suffix);
    }
    if (value.endsWith("*")) {
      return new Prefix(prefix + value.substring(0, value.length() - 1), false);
    }
    return new Exact(prefix + value, false);
  }

  /** Istio's {@code StringMatcher(v)}: {@link #istio(String, String)} without a prefix. */
  static StrMatcher istio(String value) {
    return istio(value, "");
  }

  /**
   * Istio's {@code HeaderMatcher}/{@code HostMatcher} (matcher/header.go): {@code *} is a
   * presence match; {@code *x} suffix, {@code x*} prefix, else exact.
   */
  static StrMatcher header(String value, boolean ignoreCase) {
    if (value.equals("*")) {
      return PRESENT;
    }
    if (value.startsWith("*")) {
      return new Suffix(value.substring(1), ignoreCase);
    }
    if (value.endsWith("*")) {
      return new Prefix(value.substring(0, value.length() - 1), ignoreCase);
    }
    return new Exact(value, ignoreCase);
  }

  /** {@code prefix.*suffix} as Istio writes it: the suffix is not quoted, so its metacharacters count. */
  private static StrMatcher regexOrLiteral(String prefix, String suffix) {
    if (!hasRegexMeta(prefix) && !hasRegexMeta(suffix)) {
      return new PrefixAndSuffix(prefix, suffix);
    }
    return regex(prefix + ".*" + suffix);
  }

  /** A full-match RE2 regex; one RE2J refuses matches nothing, as Envoy would refuse the config. */
  static StrMatcher regex(String regex) {
    try {
      return new Regex(Pattern.compile(regex));
    } catch (RuntimeException e) {
      return NEVER;
    }
  }

  static boolean hasRegexMeta(String s) {
    for (int i = 0; i < s.length(); i++) {
      if ("\\.+*?()|[]{}^$".indexOf(s.charAt(i)) >= 0) {
        return true;
      }
    }
    return false;
  }

  static boolean regionEquals(String s, int sFrom, String t, int tFrom, int length, boolean ignoreCase) {
    if (!ignoreCase) {
      return s.regionMatches(sFrom, t, tFrom, length);
    }
    for (int i = 0; i < length; i++) {
      if (lowerAscii(s.charAt(sFrom + i)) != lowerAscii(t.charAt(tFrom + i))) {
        return false;
      }
    }
    return true;
  }

  static char lowerAscii(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
  }

  static String lowerAscii(String s) {
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        if (sb == null) {
          sb = new StringBuilder(s);
        }
        sb.setCharAt(i, lowerAscii(c));
      }
    }
    return sb == null ? s : sb.toString();
  }
}

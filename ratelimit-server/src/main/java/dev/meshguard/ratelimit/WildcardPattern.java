package dev.meshguard.ratelimit;

import java.util.List;

/**
 * A descriptor value pattern in which each {@code *} matches zero or more characters, anywhere
 * and any number of times (envoyproxy/ratelimit #1085; before it only a trailing {@code *}).
 *
 * <p>Matching is linear in the value: the first segment must be a prefix, the last a suffix, and
 * the middle ones are found left to right with {@link String#indexOf}. Leftmost placement is
 * always right for patterns whose only metacharacter is {@code *}, so there is no backtracking.
 */
record WildcardPattern(String pattern, List<String> segments) {

  WildcardPattern {
    segments = List.copyOf(segments);
  }

  static boolean isWildcard(String value) {
    return value.indexOf('*') >= 0;
  }

  static WildcardPattern compile(String pattern) {
    return new WildcardPattern(pattern, List.of(pattern.split("\\*", -1)));
  }

  boolean matches(String value) {
    String first = segments.get(0);
    String last = segments.get(segments.size() - 1);
    if (value.length() < first.length() + last.length() || !value.startsWith(first) || !value.endsWith(last)) {
      return false;
    }
    int from = first.length();
    int end = value.length() - last.length();
    for (int i = 1; i < segments.size() - 1; i++) {
      String segment = segments.get(i);
      int at = value.indexOf(segment, from);
      if (at < 0 || at + segment.length() > end) {
        return false;
      }
      from = at + segment.length();
    }
    return true;
  }
}

package dev.meshguard.authz;

import dev.meshguard.policy.HttpAttributes;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Where a jwtRule reads tokens ({@code fromHeaders}, {@code fromParams}, {@code fromCookies}), how a
 * token is taken from a request there, and how tokens in query parameters are kept out of the
 * audit log.
 */
final class JwtTokenExtractor {

  private JwtTokenExtractor() {}

  /** Where a token is read from. */
  sealed interface Location {
    /** A header (lower-case name) whose value starts with {@code prefix}, then the token. */
    record Header(String name, String prefix) implements Location {}

    /** A query parameter. */
    record Param(String name) implements Location {}

    /** A cookie. */
    record Cookie(String name) implements Location {}
  }

  /** The token at {@code location}, or null. */
  static String extract(Location location, HttpAttributes http) {
    String token = switch (location) {
      case Location.Header h -> {
        String v = http.headers().get(h.name());
        if (v == null) {
          yield null;
        }
        if (h.prefix().isEmpty()) {
          yield v.strip();
        }
        // The auth scheme of "Bearer " is case-insensitive (RFC 7235 §2.1); compare prefixes so.
        yield v.regionMatches(true, 0, h.prefix(), 0, h.prefix().length())
            ? v.substring(h.prefix().length()).strip() : null;
      }
      case Location.Param p -> queryParam(http.path(), p.name());
      case Location.Cookie c -> cookie(http.headers().get("cookie"), c.name());
    };
    return token == null || token.isEmpty() ? null : token;
  }

  static String queryParam(String path, String name) {
    int q = path.indexOf('?');
    if (q < 0) {
      return null;
    }
    int end = path.indexOf('#', q);
    String query = path.substring(q + 1, end < 0 ? path.length() : end);
    for (String pair : query.split("&", -1)) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (decode(key).equals(name)) {
        return eq < 0 ? "" : decode(pair.substring(eq + 1));
      }
    }
    return null;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  static String cookie(String header, String name) {
    if (header == null) {
      return null;
    }
    for (String part : header.split("[;,]", -1)) {
      String p = part.strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equals(name)) {
        String v = p.substring(eq + 1).strip();
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
      }
    }
    return null;
  }

  private static final Pattern COMPACT_JWS =
      Pattern.compile("[A-Za-z0-9_-]{2,}(?:\\.|%2[Ee])[A-Za-z0-9_-]{2,}(?:\\.|%2[Ee])[A-Za-z0-9_-]*");

  /**
   * {@code path} with the value of every query parameter that looks like a compact JWS
   * replaced by {@code REDACTED}: what the audit log records, so a token passed as
   * {@code access_token} (or any {@code fromParams}) never reaches it. Other paths are returned as
   * they are.
   */
  static String redactTokens(String path) {
    int q = path == null ? -1 : path.indexOf('?');
    if (q < 0) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length()).append(path, 0, q + 1);
    String[] pairs = path.substring(q + 1).split("&", -1);
    for (int i = 0; i < pairs.length; i++) {
      String pair = pairs[i];
      int eq = pair.indexOf('=');
      if (i > 0) {
        out.append('&');
      }
      if (eq >= 0 && COMPACT_JWS.matcher(pair).region(eq + 1, pair.length()).lookingAt()) {
        out.append(pair, 0, eq + 1).append("REDACTED");
      } else {
        out.append(pair);
      }
    }
    return out.toString();
  }
}

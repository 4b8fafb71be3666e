package dev.meshguard.policy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.List;

/**
 * One request as the matchers see it: the {@link RequestAttributes} plus what every matcher
 * would otherwise recompute (where the path ends without its query, the principal with an empty
 * one treated as absent). Holds no copies of the request's strings; evaluation reuses one per
 * thread (see {@link Candidates#acquire}), so it is mutable and never shared.
 */
final class Req {

  RequestAttributes attrs;
  /** The HTTP request, or null for a TCP connection check. */
  HttpAttributes http;
  /** End of the path without query and fragment (Envoy's {@code url_path}). */
  int pathEnd;
  /** The peer's principal, or null for plaintext. */
  String principal;
  /** The verified JWT payload, or null. */
  Struct jwt;

  Req(RequestAttributes attrs) {
    reset(attrs);
  }

  /** An empty view, to be {@link #reset} (evaluation reuses one per thread: no allocation). */
  Req() {}

  Req reset(RequestAttributes attrs) {
    this.attrs = attrs;
    this.http = attrs.http();
    this.pathEnd = http == null ? 0 : urlPathEnd(http.path());
    String p = attrs.sourcePrincipal();
    this.principal = p == null || p.isEmpty() ? null : p;
    this.jwt = attrs.jwtPayload();
    return this;
  }

  /** Index of the first {@code ?} or {@code #}, else the length: what Envoy strips for {@code url_path}. */
  static int urlPathEnd(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '?' || c == '#') {
        return i;
      }
    }
    return path.length();
  }

  String header(String lowerCaseName) {
    return http == null ? null : http.headers().get(lowerCaseName);
  }

  /** The requested server name; Envoy gives an empty one for plaintext, and so do we. */
  String sni() {
    String sni = attrs.sni();
    return sni == null ? "" : sni;
  }

  String urlPath() {
    return http == null ? null : http.path().substring(0, pathEnd);
  }

  /** A JWT claim found by its nested path, or null when there is no JWT or no such claim. */
  Value claim(List<String> path) {
    if (jwt == null || path.isEmpty()) {
      return null;
    }
    Struct current = jwt;
    for (int i = 0; i < path.size() - 1; i++) {
      Value v = current.getFieldsMap().get(path.get(i));
      if (v == null || v.getKindCase() != Value.KindCase.STRUCT_VALUE) {
        return null;
      }
      current = v.getStructValue();
    }
    return current.getFieldsMap().get(path.get(path.size() - 1));
  }

  /** A string claim ({@code iss}, {@code sub}), or null when absent or not a string. */
  String stringClaim(String name) {
    if (jwt == null) {
      return null;
    }
    Value v = jwt.getFieldsMap().get(name);
    return v != null && v.getKindCase() == Value.KindCase.STRING_VALUE ? v.getStringValue() : null;
  }
}

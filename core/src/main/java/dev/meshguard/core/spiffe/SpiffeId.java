package dev.meshguard.core.spiffe;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A validated SPIFFE ID ({@code spiffe://trust-domain/path}), per the SPIFFE ID standard
 * (spiffe/spiffe {@code standards/SPIFFE-ID.md} §2): scheme {@code spiffe}; a trust domain of
 * lowercase letters, digits, dots, dashes and underscores, at most 255 bytes, with no userinfo
 * or port; a path of non-empty segments of letters, digits, dots, dashes and underscores with no
 * {@code .}/{@code ..} segment and no trailing slash; no query, no fragment, no
 * percent-encoding; at most 2048 bytes in all.
 *
 * <p>Like go-spiffe and java-spiffe, scheme and trust domain must already be lowercase: the
 * standard calls them case-insensitive, but a mixed-case ID in a policy or certificate is almost
 * always a mistake, and refusing it keeps string comparison exact.
 *
 * <p>Written by hand because java-spiffe's parser does not enforce the 2048-byte limit and its
 * messages do not name the rule broken, which our CA and policy errors need.
 *
 * @param trustDomain the trust domain, e.g. {@code cluster.local}
 * @param path the path including its leading slash, e.g. {@code /ns/foo/sa/bar}; empty for a
 *     trust domain's own ID
 */
public record SpiffeId(String trustDomain, String path) {

  public static final String SCHEME_PREFIX = "spiffe://";
  public static final int MAX_LENGTH_BYTES = 2048;
  public static final int MAX_TRUST_DOMAIN_BYTES = 255;

  public SpiffeId {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(path, "path");
    // Re-validate: a record constructor is public, and an unchecked SpiffeId must not exist.
    String error = validate(SCHEME_PREFIX + trustDomain + path);
    if (error != null) {
      throw new IllegalArgumentException(new InvalidSpiffeIdException(SCHEME_PREFIX + trustDomain + path, error));
    }
  }

  /**
   * Parses and validates {@code uri}.
   *
   * @throws InvalidSpiffeIdException naming the rule the input breaks
   */
  public static SpiffeId parse(String uri) throws InvalidSpiffeIdException {
    Objects.requireNonNull(uri, "uri");
    String error = validate(uri);
    if (error != null) {
      throw new InvalidSpiffeIdException(uri, error);
    }
    int pathStart = uri.indexOf('/', SCHEME_PREFIX.length());
    if (pathStart < 0) {
      return new SpiffeId(uri.substring(SCHEME_PREFIX.length()), "");
    }
    return new SpiffeId(uri.substring(SCHEME_PREFIX.length(), pathStart), uri.substring(pathStart));
  }

  /**
   * Parses an Istio principal ({@code cluster.local/ns/foo/sa/bar}, the form
   * {@code AuthorizationPolicy} and Envoy's RBAC use: the SPIFFE ID without its scheme).
   */
  public static SpiffeId fromIstioPrincipal(String principal) throws InvalidSpiffeIdException {
    Objects.requireNonNull(principal, "principal");
    if (principal.startsWith(SCHEME_PREFIX)) {
      throw new InvalidSpiffeIdException(principal, "an Istio principal is written without the \"spiffe://\" scheme");
    }
    return parse(SCHEME_PREFIX + principal);
  }

  /** The workload ID of a Kubernetes service account, as Istio names it: {@code spiffe://td/ns/N/sa/SA}. */
  public static SpiffeId forServiceAccount(String trustDomain, String namespace, String serviceAccount)
      throws InvalidSpiffeIdException {
    String id = SCHEME_PREFIX + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    if (namespace.isEmpty() || namespace.indexOf('/') >= 0) {
      throw new InvalidSpiffeIdException(id, "namespace must be one non-empty path segment");
    }
    if (serviceAccount.isEmpty() || serviceAccount.indexOf('/') >= 0) {
      throw new InvalidSpiffeIdException(id, "service account must be one non-empty path segment");
    }
    return parse(id);
  }

  /** The Istio principal form: this ID without {@code spiffe://}. */
  public String toIstioPrincipal() {
    return trustDomain + path;
  }

  /** True for a trust domain's own ID ({@code spiffe://td}), which a workload SVID must never carry. */
  public boolean isTrustDomainId() {
    return path.isEmpty();
  }

  /** The same path in another trust domain (used for trust domain aliases). */
  public SpiffeId withTrustDomain(String otherTrustDomain) {
    return new SpiffeId(otherTrustDomain, path);
  }

  /** The full URI, {@code spiffe://td/path}. */
  @Override
  public String toString() {
    return SCHEME_PREFIX + trustDomain + path;
  }

  /** Returns null when {@code uri} is a valid SPIFFE ID, else the rule it breaks. */
  static String validate(String uri) {
    if (uri.isEmpty()) {
      return "is empty";
    }
    if (!uri.startsWith(SCHEME_PREFIX)) {
      return "scheme must be \"spiffe://\" (lowercase)";
    }
    if (uri.getBytes(StandardCharsets.UTF_8).length > MAX_LENGTH_BYTES) {
      return "is longer than " + MAX_LENGTH_BYTES + " bytes";
    }
    int authorityStart = SCHEME_PREFIX.length();
    int authorityEnd = uri.indexOf('/', authorityStart);
    if (authorityEnd < 0) {
      authorityEnd = uri.length();
    }
    String trustDomain = uri.substring(authorityStart, authorityEnd);
    String trustDomainError = validateTrustDomain(trustDomain);
    if (trustDomainError != null) {
      return trustDomainError;
    }
    return validatePath(uri.substring(authorityEnd));
  }

  /** Returns null when {@code trustDomain} is a valid SPIFFE trust domain name, else the rule broken. */
  public static String validateTrustDomain(String trustDomain) {
    if (trustDomain.isEmpty()) {
      return "trust domain is missing";
    }
    for (int i = 0; i < trustDomain.length(); i++) {
      char c = trustDomain.charAt(i);
      if (isTrustDomainChar(c)) {
        continue;
      }
      return switch (c) {
        case '@' -> "trust domain must not contain userinfo ('@')";
        case ':' -> "trust domain must not contain a port (':')";
        case '?', '#' -> "query and fragment are not allowed";
        case '%' -> "percent-encoding is not allowed in the trust domain";
        default -> "trust domain may contain only lowercase letters, digits, '.', '-' and '_'; found "
            + describe(c) + " at position " + (i + 1);
      };
    }
    if (trustDomain.length() > MAX_TRUST_DOMAIN_BYTES) {
      return "trust domain is longer than " + MAX_TRUST_DOMAIN_BYTES + " bytes";
    }
    return null;
  }

  private static String validatePath(String path) {
    if (path.isEmpty()) {
      return null;
    }
    int segmentStart = 1; // path starts with '/'
    for (int i = 1; i <= path.length(); i++) {
      if (i == path.length() || path.charAt(i) == '/') {
        String segment = path.substring(segmentStart, i);
        if (segment.isEmpty()) {
          return i == path.length()
              ? "path must not end with '/'"
              : "path must not contain empty segments ('//')";
        }
        if (segment.equals(".") || segment.equals("..")) {
          return "path must not contain '.' or '..' segments";
        }
        segmentStart = i + 1;
        continue;
      }
      char c = path.charAt(i);
      if (isPathChar(c)) {
        continue;
      }
      return switch (c) {
        case '?', '#' -> "query and fragment are not allowed";
        case '%' -> "percent-encoding is not allowed in the path";
        default -> "path may contain only letters, digits, '.', '-', '_' and '/'; found "
            + describe(c) + " in segment " + countSegments(path, i);
      };
    }
    return null;
  }

  private static boolean isTrustDomainChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  }

  private static boolean isPathChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '-' || c == '_';
  }

  private static int countSegments(String path, int upTo) {
    int segments = 0;
    for (int i = 0; i < upTo; i++) {
      if (path.charAt(i) == '/') {
        segments++;
      }
    }
    return segments;
  }

  private static String describe(char c) {
    if (c < 0x20 || c > 0x7e) {
      return String.format("U+%04X", (int) c);
    }
    return "'" + c + "'";
  }
}

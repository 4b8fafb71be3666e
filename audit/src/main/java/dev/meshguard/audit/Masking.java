package dev.meshguard.audit;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What the log never writes: values of secret-bearing headers, query parameters named in config,
 * and the signature part of any JWT found in a header value, the path or the reason. Applied by
 * the writer thread, so producers pay nothing for it and no code path can skip it.
 *
 * @param headers header names (lower-case) whose values are replaced by {@value #MASK}
 * @param queryParameters query parameter names whose values are replaced by {@value #MASK}
 * @param jwtSignatures whether JWT signatures are cut from every text field
 */
public record Masking(Set<String> headers, Set<String> queryParameters, boolean jwtSignatures) {
  public static final String MASK = "[masked]";
  /** On by default: the headers that carry credentials. */
  public static final Set<String> DEFAULT_HEADERS =
      Set.of("authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key");
  public static final Masking DEFAULT = new Masking(DEFAULT_HEADERS, Set.of(), true);

  // header.payload.signature, each base64url; a JWS in compact form (RFC 7515 §7.1).
  private static final Pattern JWT = Pattern.compile("(eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*)\\.[A-Za-z0-9_-]+");

  public Masking {
    headers = headers.stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    queryParameters = Set.copyOf(queryParameters);
  }

  /** The event as it may be written. */
  AuditEvent apply(AuditEvent event) {
    AuditEvent masked = event;
    AuditEvent.AuditObject object = event.object();
    String maskedPath = object == null ? null : maskPath(object.path());
    // Rebuilt only when something changes: most events carry no headers and a clean path.
    if (object != null && (object.headers() != null || !java.util.Objects.equals(maskedPath, object.path()))) {
      masked = masked.withObject(new AuditEvent.AuditObject(object.workload(), object.host(), object.method(),
          maskedPath, object.descriptors(), object.serial(), object.spiffeId(),
          maskHeaders(object.headers()), object.before(), object.after()));
    }
    if (jwtSignatures && event.reason() != null) {
      String reason = stripJwtSignatures(event.reason());
      if (!reason.equals(event.reason())) { // the same instance when no JWT was found: no char compare
        masked = masked.withReason(reason);
      }
    }
    return masked;
  }

  private Map<String, String> maskHeaders(Map<String, String> original) {
    if (original == null) {
      return null;
    }
    Map<String, String> result = new TreeMap<>();
    original.forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      result.put(lower, headers.contains(lower) ? MASK : jwtSignatures ? stripJwtSignatures(value) : value);
    });
    return result;
  }

  String maskPath(String path) {
    if (path == null) {
      return null;
    }
    String result = path;
    int query = path.indexOf('?');
    if (query >= 0 && !queryParameters.isEmpty()) {
      StringBuilder sb = new StringBuilder(path.substring(0, query + 1));
      String[] pairs = path.substring(query + 1).split("&", -1);
      for (int i = 0; i < pairs.length; i++) {
        if (i > 0) {
          sb.append('&');
        }
        int eq = pairs[i].indexOf('=');
        String name = eq < 0 ? pairs[i] : pairs[i].substring(0, eq);
        sb.append(eq >= 0 && queryParameters.contains(name) ? name + "=" + MASK : pairs[i]);
      }
      result = sb.toString();
    }
    return jwtSignatures ? stripJwtSignatures(result) : result;
  }

  static String stripJwtSignatures(String text) {
    if (text.indexOf("eyJ") < 0) {
      return text; // every JWT starts with eyJ ({"): skip the regex for nearly every value
    }
    Matcher m = JWT.matcher(text);
    return m.find() ? m.replaceAll("$1." + Matcher.quoteReplacement(MASK)) : text;
  }
}

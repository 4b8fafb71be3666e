package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.YamlDocuments;
import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The value checks of Istio's validation webhook, each returning the problem in words or null when
 * the value is fine. Written by hand because they must give Istio's verdicts exactly, which means
 * Go's parsers: sources are istio/istio {@code pkg/config/security/security.go} (ValidateIPs,
 * ValidatePorts, CheckServiceAccount, CheckValidPathTemplate, ValidateAttribute),
 * {@code pkg/config/validation/validation.go} (ValidateAuthorizationPolicy, validateJwtRule) and
 * Go's {@code net/netip} (ParseAddr, ParsePrefix) and {@code strconv} (ParseUint, ParseBool).
 */
final class IstioChecks {

  private IstioChecks() {}

  // ---------------------------------------------------------------------------------------------
  // IP addresses and CIDR ranges: Go's netip.ParseAddr / netip.ParsePrefix, as security.ValidateIPs
  // calls them (a value containing '/' is a prefix, anything else an address).

  /** Istio's ValidateIPs for one value. */
  static String checkIpOrCidr(String value) {
    if (value.contains("/")) {
      String problem = prefixProblem(value);
      return problem == null ? null : "bad CIDR range " + Nodes.quote(value) + ": " + problem;
    }
    String problem = addressProblem(value);
    return problem == null ? null : "bad IP address " + Nodes.quote(value) + ": " + problem;
  }

  /** netip.ParsePrefix's verdict: null when valid. */
  static String prefixProblem(String s) {
    int slash = s.lastIndexOf('/');
    String address = s.substring(0, slash);
    String problem = addressProblem(address);
    if (problem != null) {
      return problem;
    }
    boolean v6 = address.indexOf(':') >= 0;
    if (v6 && address.indexOf('%') >= 0) {
      return "IPv6 zones cannot be present in a prefix";
    }
    String bits = s.substring(slash + 1);
    // strconv.Atoi would take a sign and leading zeros; ParsePrefix refuses both.
    if (bits.isEmpty() || bits.length() > 1 && (bits.charAt(0) < '1' || bits.charAt(0) > '9')
        || !bits.chars().allMatch(c -> c >= '0' && c <= '9') || bits.length() > 3) {
      return "bad bits after slash: " + Nodes.quote(bits);
    }
    int n = Integer.parseInt(bits);
    if (n > (v6 ? 128 : 32)) {
      return "prefix length out of range";
    }
    return null;
  }

  /** netip.ParseAddr's verdict: null when valid. IPv6 zones ({@code fe80::1%eth0}) are valid, as in Go. */
  static String addressProblem(String s) {
    for (int i = 0; i < s.length(); i++) {
      switch (s.charAt(i)) {
        case '.' -> {
          return ipv4Problem(s);
        }
        case ':' -> {
          return ipv6Problem(s);
        }
        case '%' -> {
          return "missing IPv6 address";
        }
        default -> { }
      }
    }
    return "unable to parse IP";
  }

  private static String ipv4Problem(String s) {
    int fields = 0;
    int value = 0;
    int digits = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= '0' && c <= '9') {
        if (digits == 1 && value == 0) {
          return "IPv4 field has octet with leading zero";
        }
        value = value * 10 + (c - '0');
        digits++;
        if (value > 255) {
          return "IPv4 field has value >255";
        }
      } else if (c == '.') {
        if (i == 0 || i == s.length() - 1 || s.charAt(i - 1) == '.') {
          return "IPv4 field must have at least one digit";
        }
        if (fields == 3) {
          return "IPv4 address too long";
        }
        fields++;
        value = 0;
        digits = 0;
      } else {
        return "unexpected character";
      }
    }
    return fields < 3 ? "IPv4 address too short" : null;
  }

  private static String ipv6Problem(String in) {
    String s = in;
    int percent = s.indexOf('%');
    if (percent >= 0) {
      if (percent == s.length() - 1) {
        return "zone must be a non-empty string";
      }
      s = s.substring(0, percent);
    }
    int bytes = 0;
    int ellipsis = -1;
    if (s.length() >= 2 && s.charAt(0) == ':' && s.charAt(1) == ':') {
      ellipsis = 0;
      s = s.substring(2);
      if (s.isEmpty()) {
        return null;
      }
    }
    while (bytes < 16) {
      int off = 0;
      int acc = 0;
      for (; off < s.length(); off++) {
        int digit = hexDigit(s.charAt(off));
        if (digit < 0) {
          break;
        }
        if (off > 3) {
          return "each group must have 4 or less digits";
        }
        acc = (acc << 4) + digit;
      }
      if (off == 0) {
        return "each colon-separated field must have at least one digit";
      }
      if (off < s.length() && s.charAt(off) == '.') {
        if (ellipsis < 0 && bytes != 12) {
          return "embedded IPv4 address must replace the final 2 fields of the address";
        }
        if (bytes + 4 > 16) {
          return "too many hex fields to fit an embedded IPv4 at the end of the address";
        }
        String v4 = ipv4Problem(s);
        if (v4 != null) {
          return v4;
        }
        s = "";
        bytes += 4;
        break;
      }
      bytes += 2;
      s = s.substring(off);
      if (s.isEmpty()) {
        break;
      }
      if (s.charAt(0) != ':') {
        return "unexpected character, want colon";
      } else if (s.length() == 1) {
        return "colon must be followed by more characters";
      }
      s = s.substring(1);
      if (s.charAt(0) == ':') {
        if (ellipsis >= 0) {
          return "multiple :: in address";
        }
        ellipsis = bytes;
        s = s.substring(1);
        if (s.isEmpty()) {
          break;
        }
      }
    }
    if (!s.isEmpty()) {
      return "trailing garbage after address";
    }
    if (bytes < 16) {
      if (ellipsis < 0) {
        return "address string too short";
      }
    } else if (ellipsis >= 0) {
      return "the :: must expand to at least one field of zeros";
    }
    return null;
  }

  private static int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    } else if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Ports: strconv.ParseUint(port, 10, 32) and then <= 65535 (security.ValidatePorts).

  static String checkPort(String port) {
    boolean digits = !port.isEmpty() && port.chars().allMatch(c -> c >= '0' && c <= '9');
    String significant = digits ? port.replaceFirst("^0+(?=.)", "") : "";
    if (!digits || significant.length() > 5 || Integer.parseInt(significant) > 65535) {
      return "bad port " + Nodes.quote(port) + ": must be an integer between 0 and 65535";
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Service accounts: security.CheckServiceAccount, one value at a time (the count limit is the caller's).

  static final int MAX_SERVICE_ACCOUNTS = 16;
  static final int MAX_SERVICE_ACCOUNT_BYTES = 320;

  static String checkServiceAccount(String value) {
    if (value.isEmpty()) {
      return "empty value not allowed";
    }
    if (value.contains("*")) {
      return "wildcard not allowed";
    }
    long slashes = value.chars().filter(c -> c == '/').count();
    if (slashes > 1) {
      return "expected format 'serviceAccount' or 'namespace/serviceAccount', found " + Nodes.quote(value);
    }
    if (value.getBytes(StandardCharsets.UTF_8).length > MAX_SERVICE_ACCOUNT_BYTES) {
      return "value cannot exceed " + MAX_SERVICE_ACCOUNT_BYTES + " characters";
    }
    int slash = value.indexOf('/');
    if (slash == 0) {
      return "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace in "
          + Nodes.quote(value);
    }
    if (slash == value.length() - 1) {
      return "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount in "
          + Nodes.quote(value);
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Path templates: security.CheckValidPathTemplate (Istio 1.22+).

  private static final Pattern VALID_LITERAL = Pattern.compile("[a-zA-Z0-9-._~%!$&'()+,;:@=]+");

  static boolean isPathTemplate(String path) {
    return path.contains("{*}") || path.contains("{**}");
  }

  static String checkPathTemplate(String path) {
    boolean template = isPathTemplate(path);
    boolean matchAnySeen = false;
    for (String glob : trimSlashes(path).split("/", -1)) {
      if (glob.equals("{*}") && !matchAnySeen) {
        continue;
      } else if (glob.equals("{**}") && !matchAnySeen) {
        matchAnySeen = true;
        continue;
      } else if ((glob.equals("{**}") || glob.equals("{*}")) && matchAnySeen) {
        return "invalid or unsupported path template " + Nodes.quote(path) + ": {**} is not the last operator";
      }
      if (glob.indexOf('{') >= 0 || glob.indexOf('}') >= 0) {
        return "invalid or unsupported path " + Nodes.quote(path)
            + ": contains '{' or '}' beyond a supported path template ({*} or {**} as a whole segment)";
      }
      if (template && !VALID_LITERAL.matcher(glob).matches()) {
        return "invalid or unsupported path template " + Nodes.quote(path) + ": segment " + Nodes.quote(glob)
            + " is not a valid literal (a template allows only RFC 3986 pchar next to {*} and {**})";
      }
    }
    return null;
  }

  /** Go's strings.Trim(path, "/"). */
  private static String trimSlashes(String path) {
    int start = 0;
    int end = path.length();
    while (start < end && path.charAt(start) == '/') {
      start++;
    }
    while (end > start && path.charAt(end - 1) == '/') {
      end--;
    }
    return path.substring(start, end);
  }

  // ---------------------------------------------------------------------------------------------
  // Condition keys: security.ValidateAttribute's switch, in its order.

  /** What a condition key's values are checked as. */
  enum ValueKind {
    ANY,
    IP,
    PORT,
    SERVICE_ACCOUNT
  }

  /** The verdict on a condition key: the kind of its values, or the problem. */
  record KeyCheck(ValueKind kind, String problem, boolean httpOnly) {}

  static KeyCheck checkKey(String key) {
    if (key.startsWith("request.headers")) {
      return mapKey(key, true);
    } else if (key.startsWith("request.experimental.inline.headers")) {
      return mapKey(key, true);
    } else if (key.equals("source.ip") || key.equals("remote.ip")) {
      return new KeyCheck(ValueKind.IP, null, false);
    } else if (key.equals("source.namespace")) {
      return new KeyCheck(ValueKind.ANY, null, false);
    } else if (key.equals("source.serviceAccount")) {
      return new KeyCheck(ValueKind.SERVICE_ACCOUNT, null, false);
    } else if (key.equals("source.principal")) {
      return new KeyCheck(ValueKind.ANY, null, false);
    } else if (key.equals("request.auth.principal") || key.equals("request.auth.audiences")
        || key.equals("request.auth.presenter")) {
      return new KeyCheck(ValueKind.ANY, null, true);
    } else if (key.startsWith("request.auth.claims")) {
      return mapKey(key, true);
    } else if (key.equals("destination.ip")) {
      return new KeyCheck(ValueKind.IP, null, false);
    } else if (key.equals("destination.port")) {
      return new KeyCheck(ValueKind.PORT, null, false);
    } else if (key.equals("connection.sni")) {
      return new KeyCheck(ValueKind.ANY, null, false);
    } else if (key.startsWith("experimental.envoy.filters.")) {
      return mapKey(key, false);
    } else if (key.equals("destination.namespace")) {
      return new KeyCheck(ValueKind.ANY, "attribute " + Nodes.quote(key) + " is replaced by the metadata.namespace", false);
    } else if (key.startsWith("destination.labels")) {
      return new KeyCheck(ValueKind.ANY, "attribute " + Nodes.quote(key) + " is replaced by the workload selector", false);
    } else if (key.equals("destination.name") || key.equals("destination.user")) {
      return new KeyCheck(ValueKind.ANY, "deprecated attribute " + Nodes.quote(key) + ": only supported in v1alpha1",
          false);
    }
    return new KeyCheck(ValueKind.ANY, "unknown attribute " + Nodes.quote(key)
        + "; see https://istio.io/latest/docs/reference/config/security/conditions/", false);
  }

  /** validateMapKey: {@code a[b]} with a non-empty {@code a} and {@code b}. */
  private static KeyCheck mapKey(String key, boolean httpOnly) {
    int open = key.indexOf('[');
    if (key.endsWith("]") && open > 0 && open < key.length() - 2) {
      return new KeyCheck(ValueKind.ANY, null, httpOnly);
    }
    return new KeyCheck(ValueKind.ANY, "bad key " + Nodes.quote(key) + ": should have format a[b]", httpOnly);
  }

  // ---------------------------------------------------------------------------------------------
  // Kubernetes names and labels.

  private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  static boolean isDns1123Label(String s) {
    return s.length() <= 63 && DNS1123_LABEL.matcher(s).matches();
  }

  static boolean isDns1123Subdomain(String s) {
    return s.length() <= 253 && DNS1123_SUBDOMAIN.matcher(s).matches();
  }

  /** The CRD's pattern for {@code targetRef.group}: empty or a DNS subdomain. */
  static boolean isTargetRefGroup(String group) {
    return group.isEmpty() || isDns1123Subdomain(group);
  }

  private static final Pattern TARGET_REF_KIND = Pattern.compile("[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?");

  static boolean isTargetRefKind(String kind) {
    return kind.length() <= 63 && TARGET_REF_KIND.matcher(kind).matches();
  }

  // ---------------------------------------------------------------------------------------------
  // strconv.ParseBool, for istio.io/dry-run.

  private static final Set<String> TRUE = Set.of("1", "t", "T", "TRUE", "true", "True");
  private static final Set<String> FALSE = Set.of("0", "f", "F", "FALSE", "false", "False");

  /** Go's strconv.ParseBool: TRUE, FALSE, or null for anything else. */
  static Boolean parseBool(String value) {
    if (TRUE.contains(value)) {
      return Boolean.TRUE;
    }
    return FALSE.contains(value) ? Boolean.FALSE : null;
  }

  // ---------------------------------------------------------------------------------------------
  // Durations as protobuf JSON writes them ("5s", "0.25s"), checked as agent.ValidateDuration does.

  private static final Pattern PROTO_DURATION = Pattern.compile("-?[0-9]+(\\.[0-9]{1,9})?s");

  /** The duration in nanoseconds, or null when {@code text} is not a protobuf JSON duration. */
  static Long protoDurationNanos(String text) {
    if (!PROTO_DURATION.matcher(text).matches() || text.length() > 32) {
      return null;
    }
    BigDecimal seconds = new BigDecimal(text.substring(0, text.length() - 1));
    if (seconds.abs().compareTo(BigDecimal.valueOf(315_576_000_000L)) > 0) {
      return null; // outside the range of google.protobuf.Duration
    }
    BigDecimal nanos = seconds.movePointRight(9);
    // Beyond ~292 years a long overflows; such a timeout is "forever" for every use here.
    return nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0 ? Long.MAX_VALUE
        : nanos.compareTo(BigDecimal.valueOf(Long.MIN_VALUE)) < 0 ? Long.MIN_VALUE : nanos.longValueExact();
  }

  /** agent.ValidateDuration: at least 1ms, to the millisecond. */
  static String checkDuration(String text) {
    Long nanos = protoDurationNanos(text);
    if (nanos == null) {
      return "invalid duration " + Nodes.quote(text) + ": write seconds with an \"s\" suffix, such as \"5s\" or \"0.5s\"";
    }
    if (nanos < 1_000_000L) {
      return "duration must be greater than 1ms";
    }
    if (nanos % 1_000_000L != 0) {
      return "only durations to ms precision are supported";
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // JWT rules: security.ParseJwksURI and jwk.Parse (lestrrat-go/jwx), which validateJwtRule calls.

  /** ParseJwksURI: an http or https URI (the scheme case-insensitive, as Go lowercases it), numeric port. */
  static String checkJwksUri(String uri) {
    URI parsed;
    try {
      parsed = new URI(uri);
    } catch (URISyntaxException e) {
      return "invalid jwksUri " + Nodes.quote(uri) + ": " + e.getReason();
    }
    String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return "URI scheme " + Nodes.quote(scheme) + " is not supported; use http or https";
    }
    if (parsed.getRawAuthority() != null && parsed.getHost() == null) {
      return "invalid jwksUri " + Nodes.quote(uri) + ": the authority is not a host with an optional numeric port";
    }
    return null;
  }

  private static final Map<String, List<String>> JWK_REQUIRED = Map.of(
      "RSA", List.of("n", "e"),
      "EC", List.of("crv", "x", "y"),
      "OKP", List.of("crv", "x"),
      "oct", List.of("k"));

  private static final Set<String> EC_CURVES = Set.of("P-256", "P-384", "P-521", "secp256k1");
  private static final Set<String> OKP_CURVES = Set.of("Ed25519", "Ed448", "X25519", "X448");
  private static final Map<String, List<String>> JWK_BINARY_MEMBERS = Map.of(
      "RSA", List.of("n", "e", "d", "p", "q", "dp", "dq", "qi"),
      "EC", List.of("x", "y", "d"),
      "OKP", List.of("x", "d"),
      "oct", List.of("k"));

  /**
   * What jwk.Parse would refuse in an inline JWK Set (or single JWK): not JSON, {@code keys} not a
   * list of objects, a key without a known {@code kty}, or without the members its type requires,
   * or with key material that is not base64url.
   */
  static String checkJwks(String jwks) {
    YamlNode root;
    try {
      root = YamlDocuments.readJson(jwks, "jwks", new ArrayList<ConfigError>());
    } catch (ConfigException e) {
      ConfigError first = e.errors().get(0);
      return "jwks parse error: " + first.message() + " at line " + first.line() + ", column " + first.column();
    }
    if (!(root instanceof Mapping object)) {
      return "jwks parse error: expected a JSON object (a JWK Set or a JWK), found " + Nodes.describe(root);
    }
    Map<String, YamlNode> members = members(object);
    if (!members.containsKey("keys")) {
      String problem = jwkProblem(members);
      return problem == null ? null : "jwks parse error: " + problem;
    }
    if (!(members.get("keys") instanceof Sequence keys)) {
      return "jwks parse error: \"keys\" must be a list";
    }
    for (int i = 0; i < keys.items().size(); i++) {
      if (!(keys.items().get(i) instanceof Mapping key)) {
        return "jwks parse error: keys[" + i + "] must be an object";
      }
      String problem = jwkProblem(members(key));
      if (problem != null) {
        return "jwks parse error: keys[" + i + "]: " + problem;
      }
    }
    return null;
  }

  private static Map<String, YamlNode> members(Mapping object) {
    Map<String, YamlNode> members = new LinkedHashMap<>();
    for (Entry entry : object.entries()) {
      members.put(entry.key(), entry.value());
    }
    return members;
  }

  private static String jwkProblem(Map<String, YamlNode> key) {
    String kty = text(key.get("kty"));
    if (kty == null) {
      return "missing \"kty\"";
    }
    List<String> required = JWK_REQUIRED.get(kty);
    if (required == null) {
      return "unsupported \"kty\" " + Nodes.quote(kty) + "; expected RSA, EC, OKP or oct";
    }
    for (String member : required) {
      if (text(key.get(member)) == null) {
        return "a " + kty + " key needs the member " + Nodes.quote(member);
      }
    }
    if (kty.equals("EC") && !EC_CURVES.contains(text(key.get("crv")))) {
      return "unsupported EC curve " + Nodes.quote(text(key.get("crv")));
    }
    if (kty.equals("OKP") && !OKP_CURVES.contains(text(key.get("crv")))) {
      return "unsupported OKP curve " + Nodes.quote(text(key.get("crv")));
    }
    for (String member : JWK_BINARY_MEMBERS.get(kty)) {
      if (key.containsKey(member)) {
        String value = text(key.get(member));
        if (value == null || !isBase64Url(value)) {
          return "member " + Nodes.quote(member) + " must be a base64url string";
        }
      }
    }
    return null;
  }

  private static String text(YamlNode node) {
    return node instanceof Scalar scalar && scalar.type() == Scalar.Type.STRING ? scalar.text() : null;
  }

  private static boolean isBase64Url(String value) {
    try {
      Base64.getUrlDecoder().decode(value.endsWith("=") ? value.replaceAll("=+$", "") : value);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The CRD's pattern for {@code outputClaimToHeaders[].header}. */
  private static final Pattern HEADER_NAME = Pattern.compile("[-_A-Za-z0-9]+");

  static boolean isHeaderName(String name) {
    return HEADER_NAME.matcher(name).matches();
  }
}

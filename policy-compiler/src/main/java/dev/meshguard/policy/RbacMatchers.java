package dev.meshguard.policy;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.OrMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.net.InetAddress;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Envoy matcher messages istiod builds from policy values, one method per helper of
 * istio/istio {@code pilot/pkg/security/authz/matcher/{string,header,metadata,template}.go} and
 * {@code model/{permission,principal,util}.go}. Written by hand: no library translates Istio's
 * value syntax ({@code abc*}, {@code *abc}, {@code *}) into Envoy matchers.
 */
final class RbacMatchers {
  static final String SPIFFE_PREFIX = "spiffe://";
  static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
  static final String JWT_PAYLOAD = "payload";
  /** The {@code TypedExtensionConfig.name} istiod gives a path template (model generator_test.go). */
  static final String URI_TEMPLATE_NAME = "uri-template";

  private static final Pattern SLASH = Pattern.compile("/");

  private RbacMatchers() {}

  // ---- matcher/string.go

  /** {@code StringMatcher(v)}: {@code StringMatcherWithPrefix(v, "")}. */
  static StringMatcher string(String value) {
    return stringWithPrefix(value, "");
  }

  /**
   * {@code StringMatcherWithPrefix}: {@code *} is regex {@code .+} (the prefix ignored);
   * {@code *abc} is suffix {@code abc} without a prefix and regex {@code <prefix>.*abc} with one
   * (the value is not regex-quoted, as in Istio); {@code abc*} is prefix {@code <prefix>abc};
   * anything else is exact {@code <prefix>value}.
   */
  static StringMatcher stringWithPrefix(String value, String prefix) {
    if (value.equals("*")) {
      return regex(".+");
    }
    if (value.startsWith("*")) {
      if (prefix.isEmpty()) {
        return suffix(value.substring(1), false);
      }
      return regex(prefix + ".*" + value.substring(1));
    }
    if (value.endsWith("*")) {
      return prefix(prefix + value.substring(0, value.length() - 1), false);
    }
    return exact(prefix + value, false);
  }

  /** {@code StringMatcherRegex}: safe_regex with no engine type (Envoy's default is RE2). */
  static StringMatcher regex(String regex) {
    return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)).build();
  }

  static StringMatcher exact(String value, boolean ignoreCase) {
    return StringMatcher.newBuilder().setExact(value).setIgnoreCase(ignoreCase).build();
  }

  static StringMatcher prefix(String value, boolean ignoreCase) {
    return StringMatcher.newBuilder().setPrefix(value).setIgnoreCase(ignoreCase).build();
  }

  static StringMatcher suffix(String value, boolean ignoreCase) {
    return StringMatcher.newBuilder().setSuffix(value).setIgnoreCase(ignoreCase).build();
  }

  /** {@code StringOrMatcher}: one string ValueMatcher per value, OR-ed (the single one alone). */
  static ValueMatcher stringOr(List<String> values) {
    List<ValueMatcher> matchers = values.stream()
        .map(v -> ValueMatcher.newBuilder().setStringMatch(string(v)).build())
        .toList();
    return or(matchers);
  }

  /** {@code OrMatcher}: the one matcher itself, or an or_match of several. */
  static ValueMatcher or(List<ValueMatcher> matchers) {
    if (matchers.size() == 1) {
      return matchers.get(0);
    }
    return ValueMatcher.newBuilder().setOrMatch(OrMatcher.newBuilder().addAllValueMatchers(matchers)).build();
  }

  // ---- matcher/header.go

  /** {@code HeaderMatcher(k, v)}: {@code *} is present_match, else a case-sensitive string_match. */
  static HeaderMatcher header(String name, String value) {
    return headerWith(name, value, false);
  }

  /** {@code HostMatcher(k, v)}: as {@link #header} but case-insensitive. */
  static HeaderMatcher host(String name, String value) {
    return headerWith(name, value, true);
  }

  private static HeaderMatcher headerWith(String name, String value, boolean ignoreCase) {
    HeaderMatcher.Builder builder = HeaderMatcher.newBuilder().setName(name);
    if (value.equals("*")) {
      return builder.setPresentMatch(true).build();
    }
    if (value.startsWith("*")) {
      return builder.setStringMatch(suffix(value.substring(1), ignoreCase)).build();
    }
    if (value.endsWith("*")) {
      return builder.setStringMatch(prefix(value.substring(0, value.length() - 1), ignoreCase)).build();
    }
    return builder.setStringMatch(exact(value, ignoreCase)).build();
  }

  /**
   * {@code HeaderMatcherWithRegex} (key {@code request.experimental.inline.headers[...]}): the value
   * as one element of a comma-joined header.
   */
  // istiod still emits HeaderMatcher.safe_regex_match, which Envoy has deprecated for string_match.
  @SuppressWarnings("deprecation")
  static HeaderMatcher inlineHeader(String name, String value) {
    HeaderMatcher.Builder builder = HeaderMatcher.newBuilder().setName(name);
    if (value.equals("*")) {
      return builder.setPresentMatch(true).build();
    }
    String regex;
    if (value.startsWith("*")) {
      regex = ".*" + quoteMeta(value.substring(1));
    } else if (value.endsWith("*")) {
      regex = quoteMeta(value.substring(0, value.length() - 1)) + ".*";
    } else {
      regex = quoteMeta(value);
    }
    String full = "^" + regex + "$|^" + regex + ",.*|.*," + regex + ",.*|.*," + regex + "$";
    return builder.setSafeRegexMatch(RegexMatcher.newBuilder().setRegex(full)).build();
  }

  /** Go's {@code regexp.QuoteMeta}: a backslash before each of {@code \.+*?()|[]{}^$}. */
  static String quoteMeta(String s) {
    StringBuilder out = new StringBuilder(s.length() * 2);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) {
        out.append('\\');
      }
      out.append(c);
    }
    return out.toString();
  }

  /** {@code PathMatcher(path)}: url_path over {@link #string}. */
  static PathMatcher path(String path) {
    return PathMatcher.newBuilder().setPath(string(path)).build();
  }

  // ---- matcher/template.go, pkg/config/security

  /** {@code security.ContainsPathTemplate}: the path holds {@code {*}} or {@code {**}}. */
  static boolean containsPathTemplate(String path) {
    return path.contains("{*}") || path.contains("{**}");
  }

  /** {@code PathTemplateMatcher}: {@code {*}} becomes {@code *} and {@code {**}} becomes {@code **}. */
  static TypedExtensionConfig pathTemplate(String path) {
    String template = path.replace("{**}", "**").replace("{*}", "*");
    return TypedExtensionConfig.newBuilder()
        .setName(URI_TEMPLATE_NAME)
        .setTypedConfig(Any.pack(UriTemplateMatchConfig.newBuilder().setPathTemplate(template).build()))
        .build();
  }

  // ---- matcher/metadata.go, model/util.go

  /** {@code MetadataValueMatcher(filter, key, m)}: one path segment. */
  static MetadataMatcher metadataValue(String filter, String key, ValueMatcher value) {
    return MetadataMatcher.newBuilder()
        .setFilter(filter)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(key))
        .setValue(value)
        .build();
  }

  /** {@code MetadataStringMatcherForJWTClaim}: {@code payload.<claim>} as a string. */
  static MetadataMatcher jwtClaimString(String claim, StringMatcher matcher) {
    return MetadataMatcher.newBuilder()
        .setFilter(JWT_FILTER)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(JWT_PAYLOAD))
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(claim))
        .setValue(ValueMatcher.newBuilder().setStringMatch(matcher))
        .build();
  }

  /**
   * {@code MetadataListValueMatcherForJWTClaims} (extended JWT): {@code payload.<claims...>} is a list
   * with an element matching {@code value}, or is itself a value matching it.
   */
  static MetadataMatcher jwtClaimListOrValue(List<String> claims, ValueMatcher value) {
    MetadataMatcher.Builder builder = MetadataMatcher.newBuilder().setFilter(JWT_FILTER)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(JWT_PAYLOAD));
    for (String claim : claims) {
      builder.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(claim));
    }
    ValueMatcher list = ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(value)).build();
    return builder.setValue(ValueMatcher.newBuilder()
            .setOrMatch(OrMatcher.newBuilder().addValueMatchers(list).addValueMatchers(value)))
        .build();
  }

  /** {@code util.AddrStrToCidrRange}: a bare IP is /32 or /128; a CIDR keeps its address as written. */
  static CidrRange cidr(String value) throws RbacUnsupported {
    String address = value;
    int bits = -1;
    int slash = value.indexOf('/');
    if (slash >= 0) {
      address = value.substring(0, slash);
      String len = value.substring(slash + 1);
      if (len.isEmpty() || len.length() > 3 || !len.chars().allMatch(Character::isDigit)
          || (len.length() > 1 && len.charAt(0) == '0')) {
        throw new RbacUnsupported("invalid CIDR " + value);
      }
      bits = Integer.parseInt(len);
    }
    if (address.isEmpty() || !InetAddresses.isInetAddress(address) || address.contains("%")) {
      throw new RbacUnsupported("invalid IP address " + value);
    }
    InetAddress ip = InetAddresses.forString(address);
    int max = ip.getAddress().length * 8;
    if (bits > max) {
      throw new RbacUnsupported("invalid CIDR " + value);
    }
    return CidrRange.newBuilder()
        .setAddressPrefix(InetAddresses.toAddrString(ip))
        .setPrefixLen(UInt32Value.of(bits < 0 ? max : bits))
        .build();
  }

  /** {@code convertToPort}: a decimal integer in 0–65535. */
  static int port(String value) throws RbacUnsupported {
    if (value.isEmpty() || value.length() > 10 || !value.chars().allMatch(Character::isDigit)) {
      throw new RbacUnsupported("invalid port " + value);
    }
    long port = Long.parseLong(value);
    if (port > 65535) {
      throw new RbacUnsupported("invalid port " + value);
    }
    return (int) port;
  }

  /** {@code extractNameInBrackets}: {@code [name]} to {@code name}. */
  static String nameInBrackets(String s) throws RbacUnsupported {
    if (!s.startsWith("[") || !s.endsWith("]") || s.length() < 2) {
      throw new RbacUnsupported("expecting format [<NAME>], but found " + s);
    }
    return s.substring(1, s.length() - 1);
  }

  /** {@code extractNameInNestedBrackets}: {@code [a][b]} to {@code [a, b]}; else one name in brackets. */
  static List<String> namesInNestedBrackets(String s) throws RbacUnsupported {
    java.util.ArrayList<String> names = new java.util.ArrayList<>();
    int begin = 0;
    while (begin < s.length()) {
      int end = endBracket(s, begin);
      if (end < 0) {
        return List.of(nameInBrackets(s));
      }
      names.add(s.substring(begin + 1, end));
      begin = end + 1;
    }
    return List.copyOf(names);
  }

  private static int endBracket(String s, int begin) {
    if (begin >= s.length() || s.charAt(begin) != '[') {
      return -1;
    }
    for (int i = begin + 1; i < s.length(); i++) {
      if (s.charAt(i) == '[') {
        return -1;
      }
      if (s.charAt(i) == ']') {
        return i;
      }
    }
    return -1;
  }

  /** Go's {@code strings.Trim(s, "[]")}: strips every leading and trailing bracket. */
  static String trimBrackets(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && (s.charAt(start) == '[' || s.charAt(start) == ']')) {
      start++;
    }
    while (end > start && (s.charAt(end - 1) == '[' || s.charAt(end - 1) == ']')) {
      end--;
    }
    return s.substring(start, end);
  }

  /** Splits at the first {@code [} into at most two parts (Go's {@code strings.SplitN(s, "[", 2)}). */
  static String[] splitAtBracket(String s) {
    int i = s.indexOf('[');
    return i < 0 ? new String[] {s} : new String[] {s.substring(0, i), s.substring(i + 1)};
  }

  /** Go's {@code strings.Split(s, "/")}. */
  static String[] splitSlash(String s) {
    return SLASH.split(s, -1);
  }

  // ---- model/permission.go, model/principal.go

  static Permission permissionAny() {
    return Permission.newBuilder().setAny(true).build();
  }

  static Permission permissionAnd(List<Permission> rules) {
    return Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(rules)).build();
  }

  static Permission permissionOr(List<Permission> rules) {
    return Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(rules)).build();
  }

  static Permission permissionNot(Permission rule) {
    return Permission.newBuilder().setNotRule(rule).build();
  }

  static Principal principalAny() {
    return Principal.newBuilder().setAny(true).build();
  }

  static Principal principalAnd(List<Principal> ids) {
    return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  static Principal principalOr(List<Principal> ids) {
    return Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  static Principal principalNot(Principal id) {
    return Principal.newBuilder().setNotId(id).build();
  }

  /**
   * {@code principalMetadata}. istiod still emits {@code Principal.metadata}, which Envoy has
   * deprecated for {@code sourced_metadata}; the config must be istiod's.
   */
  @SuppressWarnings("deprecation")
  static Principal principalMetadata(MetadataMatcher metadata) {
    return Principal.newBuilder().setMetadata(metadata).build();
  }

  /** {@code permissionMetadata}, the deprecated {@code Permission.metadata} istiod emits. */
  @SuppressWarnings("deprecation")
  static Permission permissionMetadata(MetadataMatcher metadata) {
    return Permission.newBuilder().setMetadata(metadata).build();
  }

  /** {@code principalAuthenticated(m, useAuthenticated=true)}: the peer certificate's principal name. */
  static Principal principalAuthenticated(StringMatcher name) {
    return Principal.newBuilder()
        .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(name))
        .build();
  }
}

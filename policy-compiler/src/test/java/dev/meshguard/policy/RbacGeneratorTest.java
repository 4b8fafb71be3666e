package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Each generator against the expectations of istio/istio
 * {@code pilot/pkg/security/authz/model/generator_test.go} ({@code TestGenerator},
 * {@code TestRequestPrincipal}, {@code TestServiceAccount}, {@code TestServiceAccountRegex}). Istio's
 * test builds principals with {@code useAuthenticated=false} ({@code filter_state} key
 * {@code io.istio.peer_principal}); a sidecar config carries the same string matcher in
 * {@code authenticated.principal_name}, which is what is compared here.
 */
class RbacGeneratorTest {

  static Stream<Arguments> permissions() {
    return Stream.of(
        Arguments.of("destIPGenerator", RbacGenerator.DEST_IP, "", "1.2.3.4",
            "destinationIp: {addressPrefix: 1.2.3.4, prefixLen: 32}"),
        Arguments.of("destPortGenerator", RbacGenerator.DEST_PORT, "", "80", "destinationPort: 80"),
        Arguments.of("connSNIGenerator", RbacGenerator.CONN_SNI, "", "exact.com",
            "requestedServerName: {exact: exact.com}"),
        Arguments.of("hostGenerator", RbacGenerator.HOST, "", "foo",
            "header: {name: ':authority', stringMatch: {exact: foo, ignoreCase: true}}"),
        Arguments.of("pathGenerator", RbacGenerator.PATH, "", "/abc", "urlPath: {path: {exact: /abc}}"),
        Arguments.of("pathGenerator-template", RbacGenerator.PATH, "", "/abc/{*}", """
            uriTemplate:
              name: uri-template
              typedConfig:
                '@type': type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig
                pathTemplate: /abc/*"""),
        Arguments.of("methodGenerator", RbacGenerator.METHOD, "", "GET",
            "header: {name: ':method', stringMatch: {exact: GET}}"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("permissions")
  void permission(String name, RbacGenerator.Simple generator, String key, String value, String expected)
      throws Exception {
    assertThat(generator.permission(key, value, false))
        .isEqualTo(IstioGolden.parse(expected, Permission.newBuilder()).build());
  }

  @Test
  void envoyFilterGenerator() throws Exception {
    // TestGenerator "envoyFilterGenerator-string" / "-list" (one value: the extended form has no or_match).
    assertThat(RbacGenerator.ENVOY_FILTER.permission("experimental.a.b.c[d]", List.of("val"), false))
        .isEqualTo(IstioGolden.parse("metadata: {filter: a.b.c, path: [{key: d}], value: {stringMatch: {exact: val}}}",
            Permission.newBuilder()).build());
    assertThat(RbacGenerator.ENVOY_FILTER.permission("experimental.a.b.c[d]", List.of("[v1, v2]"), false))
        .isEqualTo(IstioGolden.parse("""
            metadata:
              filter: a.b.c
              path: [{key: d}]
              value: {listMatch: {oneOf: {stringMatch: {exact: 'v1, v2'}}}}""", Permission.newBuilder()).build());
    // "envoyFilterGenerator-invalid"
    assertThatThrownBy(() -> RbacGenerator.ENVOY_FILTER.permission("experimental.a.b.c]", List.of("val"), false))
        .isInstanceOf(RbacUnsupported.class);
  }

  static Stream<Arguments> principals() {
    return Stream.of(
        Arguments.of("srcIPGenerator", RbacGenerator.SRC_IP, "", "1.2.3.4",
            "directRemoteIp: {addressPrefix: 1.2.3.4, prefixLen: 32}"),
        Arguments.of("remoteIPGenerator", RbacGenerator.REMOTE_IP, "", "1.2.3.4",
            "remoteIp: {addressPrefix: 1.2.3.4, prefixLen: 32}"),
        Arguments.of("srcNamespaceGenerator", RbacGenerator.SRC_NAMESPACE, "", "foo",
            "authenticated: {principalName: {safeRegex: {regex: .*/ns/foo/.*}}}"),
        Arguments.of("srcPrincipalGenerator", RbacGenerator.SRC_PRINCIPAL, "source.principal", "foo",
            "authenticated: {principalName: {exact: 'spiffe://foo'}}"),
        Arguments.of("requestHeaderGenerator", RbacGenerator.REQUEST_HEADER, "request.headers[x-foo]", "foo",
            "header: {name: x-foo, stringMatch: {exact: foo}}"),
        Arguments.of("requestInlineHeaderGenerator", RbacGenerator.REQUEST_INLINE_HEADER,
            "request.experimental.inline.headers[x-foo]", "foo",
            "header: {name: x-foo, safeRegexMatch: {regex: '^foo$|^foo,.*|.*,foo,.*|.*,foo$'}}"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("principals")
  void principal(String name, RbacGenerator.Simple generator, String key, String value, String expected)
      throws Exception {
    assertThat(generator.principal(key, value, false))
        .isEqualTo(IstioGolden.parse(expected, Principal.newBuilder()).build());
  }

  static Stream<Arguments> requestPrincipals() {
    // TestRequestPrincipal: input -> (iss matcher, sub matcher).
    return Stream.of(
        Arguments.of("*", "safeRegex: {regex: .+}", "safeRegex: {regex: .+}"),
        Arguments.of("foo*", "prefix: foo", "safeRegex: {regex: .+}"),
        Arguments.of("foo/*", "exact: foo", "safeRegex: {regex: .+}"),
        Arguments.of("foo/bar*", "exact: foo", "prefix: bar"),
        Arguments.of("*foo", "safeRegex: {regex: .+}", "suffix: foo"),
        Arguments.of("*/foo", "safeRegex: {regex: .+}", "exact: foo"),
        Arguments.of("*bar/foo", "suffix: bar", "exact: foo"),
        Arguments.of("foo/bar", "exact: foo", "exact: bar"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("requestPrincipals")
  void requestPrincipal(String value, String iss, String sub) throws Exception {
    String expected = """
        andIds:
          ids:
          - metadata:
              filter: envoy.filters.http.jwt_authn
              path: [{key: payload}, {key: iss}]
              value: {stringMatch: {%s}}
          - metadata:
              filter: envoy.filters.http.jwt_authn
              path: [{key: payload}, {key: sub}]
              value: {stringMatch: {%s}}""".formatted(iss, sub);
    assertThat(RbacGenerator.REQUEST_PRINCIPAL.principal("", List.of(value), false))
        .isEqualTo(IstioGolden.parse(expected, Principal.newBuilder()).build());
  }

  @Test
  void serviceAccountRegex() throws Exception {
    // TestServiceAccountRegex: "my-ns/my-sa" and ("my-ns" default, "my-sa") give the same regex.
    Principal expected = IstioGolden.parse(
        "authenticated: {principalName: {safeRegex: {regex: 'spiffe://.+/ns/my-ns/(.+/|)sa/my-sa(/.+)?'}}}",
        Principal.newBuilder()).build();
    assertThat(RbacGenerator.serviceAccount("other").principal("", "my-ns/my-sa", false)).isEqualTo(expected);
    assertThat(RbacGenerator.serviceAccount("my-ns").principal("", "my-sa", false)).isEqualTo(expected);
  }

  static Stream<Arguments> serviceAccountIdentities() {
    // TestServiceAccount, input "my-ns/my-sa"; Envoy matches the regex against the whole string.
    return Stream.of(
        Arguments.of("spiffe://cluster.local/ns/my-ns/sa/my-sa", true),
        Arguments.of("spiffe://cluster.local/ns/my-ns/sa/my-sa/k/v", true),
        Arguments.of("spiffe://cluster.local/k/v/ns/my-ns/sa/my-sa", true),
        Arguments.of("spiffe://cluster.local/ns/my-ns/k/v/sa/my-sa", true),
        Arguments.of("spiffe://cluster.local/k1/v1/ns/my-ns/k2/v2/sa/my-sa/k3/v3", true),
        Arguments.of("spiffe://cluster.local/ns/my-ns/sa/my-sa-suffix", false),
        Arguments.of("spiffe://cluster.local/ns/my-ns-suffix/sa/my-sa", false),
        Arguments.of("cluster.local/ns/my-ns/sa/my-sa", false),
        Arguments.of("spiffe://ns/my-ns/sa/my-sa", false),
        Arguments.of("spiffe://cluster.local/ns/my-ns", false),
        Arguments.of("spiffe://cluster.local/sa/my-sa", false),
        Arguments.of("spiffe://cluster.local/k/ns/my-ns/something/bar/sa/my-sa/baz", true));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("serviceAccountIdentities")
  void serviceAccountMatches(String identity, boolean match) throws Exception {
    String regex = RbacGenerator.serviceAccount("").principal("", "my-ns/my-sa", false)
        .getAuthenticated().getPrincipalName().getSafeRegex().getRegex();
    assertThat(Pattern.compile(regex).matcher(identity).matches()).isEqualTo(match);
  }

  @Test
  void httpOnlyAttributesFailOnTcp() {
    assertThatThrownBy(() -> RbacGenerator.METHOD.permission(":method", "GET", true))
        .isInstanceOf(RbacUnsupported.class).hasMessageContaining("HTTP only");
    assertThatThrownBy(() -> RbacGenerator.REQUEST_PRINCIPAL.principal("request.auth.principal", List.of("a/b"), true))
        .isInstanceOf(RbacUnsupported.class);
  }
}

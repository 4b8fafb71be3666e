package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.model.AuthorizationPolicy;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Whole filter configs compared with istiod's builder golden files (istio/istio
 * {@code pilot/pkg/security/authz/builder/testdata}); each expected file under
 * {@code src/test/resources/istio-builder} names its source. The workload is the builder tests'
 * proxy: namespace {@code foo}, labels {@code app=httpbin, version=v1} ({@code builder_test.go}).
 */
class RbacEmitterIstioTest {
  private static final Map<String, String> HTTPBIN = Map.of("app", "httpbin", "version", "v1");
  private static final Workload PROXY = new Workload("foo", HTTPBIN);

  @Test
  void allowPathWithTemplates() {
    AuthorizationPolicy httpbin1 = allow("foo", "httpbin-1").selector(HTTPBIN)
        .rule(rule().to(op()
            .paths("/exact", "/prefix/*", "*/suffix", "*", "/path/template/{*}", "/{**}/path/template")
            .notPaths("/not-exact", "/not-prefix/*", "*/not-suffix", "*", "/not-path/template/{*}",
                "/{**}/not-path/template")))
        .build();

    List<HttpFilter> filters = RbacEmitter.httpFilters(Fixtures.set(List.of(httpbin1)), MeshConfig.DEFAULT, PROXY);

    assertThat(filters).containsExactly(expectedHttp("extended-allow-path-out.yaml"));
  }

  @Test
  void dryRunAllowAndDenyGoToShadowRules() {
    AuthorizationPolicy allow = allow("foo", "httpbin-1").selector(HTTPBIN).dryRun()
        .rule(rule().to(op().paths("/allow"))).build();
    AuthorizationPolicy deny = deny("foo", "httpbin-2").selector(HTTPBIN).dryRun()
        .rule(rule().to(op().paths("/deny"))).build();

    List<HttpFilter> filters =
        RbacEmitter.httpFilters(Fixtures.set(List.of(allow, deny)), MeshConfig.DEFAULT, PROXY);

    // builder_test.go "dry-run-allow-and-deny": out1 (DENY) before out2 (ALLOW).
    assertThat(filters).containsExactly(expectedHttp("extended-dry-run-allow-and-deny-out1.yaml"),
        expectedHttp("extended-dry-run-allow-and-deny-out2.yaml"));
  }

  @Test
  void denyBothHttpTcpDropsOnlyTheHttpFields() throws Exception {
    // tcp/deny-both-http-tcp-in.yaml at istio/istio commit 4f125a09 (the input of the golden output).
    AuthorizationPolicy deny = deny("foo", "httpbin-deny")
        // rule[0] from: HTTP field, to: HTTP field
        .rule(rule().from(source().requestPrincipals("id-1")).to(op().methods("GET")))
        // rule[1] from: nil, to: HTTP field
        .rule(rule().to(op().methods("GET")))
        // rule[2] from: HTTP field, to: nil
        .rule(rule().from(source().requestPrincipals("id-1")))
        // rule[3] from: TCP field, to: HTTP field
        .rule(rule().from(source().namespaces("ns-1")).to(op().methods("GET")))
        // rule[4] from: HTTP field, to: TCP field
        .rule(rule().from(source().requestPrincipals("id-1")).to(op().ports("80")))
        // rule[5] from: TCP field, to: TCP field
        .rule(rule().from(source().namespaces("ns-1")).to(op().ports("80")))
        // rule[6] when: HTTP field
        .rule(rule().when("request.headers[:method]", "GET"))
        // rule[7] when: TCP field
        .rule(rule().when("destination.port", "80"))
        // rule[8] every field
        .rule(rule()
            .from(source()
                .principals("principal", "*principal-suffix", "principal-prefix*", "*")
                .requestPrincipals("requestPrincipals")
                .namespaces("ns", "*ns-suffix", "ns-prefix*", "*")
                .ipBlocks("1.2.3.4")
                .remoteIpBlocks("172.18.4.0/22")
                .notPrincipals("not-principal", "*not-principal-suffix", "not-principal-prefix*", "*")
                .notRequestPrincipals("not-requestPrincipals")
                .notNamespaces("not-ns", "*not-ns-suffix", "not-ns-prefix*", "*")
                .notIpBlocks("9.0.0.1")
                .notRemoteIpBlocks("192.168.244.139"))
            .to(op()
                .methods("method").hosts("exact.com").ports("80").paths("/exact")
                .notMethods("not-method").notHosts("not-exact.com").notPorts("8000").notPaths("/not-exact"))
            .when("request.headers[X-header]", List.of("header"), List.of("not-header"))
            .when("source.ip", List.of("10.10.10.10"), List.of("90.10.10.10"))
            .when("remote.ip", List.of("192.168.3.3"), List.of("172.19.31.3"))
            .when("source.namespace", List.of("ns", "*ns-suffix", "ns-prefix*", "*"),
                List.of("not-ns", "*not-ns-suffix", "not-ns-prefix*", "*"))
            .when("source.principal", List.of("principal", "*principal-suffix", "principal-prefix*", "*"),
                List.of("not-principal", "*not-principal-suffix", "not-principal-prefix*", "*"))
            .when("request.auth.principal", List.of("requestPrincipals"), List.of("not-requestPrincipals"))
            .when("request.auth.audiences", List.of("audiences"), List.of("not-audiences"))
            .when("request.auth.presenter", List.of("presenter"), List.of("not-presenter"))
            .when("request.auth.claims[iss]", List.of("iss"), List.of("not-iss"))
            .when("destination.ip", List.of("10.10.10.10"), List.of("90.10.10.10"))
            .when("destination.port", List.of("91"), List.of("9001"))
            .when("connection.sni", List.of("exact.com"), List.of("not-exact.com"))
            .when("experimental.envoy.filters.a.b[c]", List.of("exact"), List.of("not-exact")))
        .build();

    List<Filter> filters = RbacEmitter.networkFilters(Fixtures.set(List.of(deny)), MeshConfig.DEFAULT, PROXY);

    Filter expected = IstioGolden.parse(IstioGolden.resource("deny-both-http-tcp-out.yaml"), Filter.newBuilder()).build();
    assertThat(filters).hasSize(1);
    assertThat(filters.get(0).getName()).isEqualTo(expected.getName());
    // Compared unpacked: an Any holds serialized bytes, and map entries serialize in insertion order.
    var got = filters.get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    var want = expected.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    assertThat(IstioGolden.json(got)).isEqualTo(IstioGolden.json(want));
    assertThat(got).isEqualTo(want);
  }

  private static HttpFilter expectedHttp(String file) {
    return IstioGolden.parse(IstioGolden.resource(file), HttpFilter.newBuilder()).build();
  }
}

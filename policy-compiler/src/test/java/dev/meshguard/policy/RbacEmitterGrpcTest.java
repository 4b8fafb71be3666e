package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.audit;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.grpc.xds.GrpcRbac;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Emitted configs judged by grpc-java's Envoy RBAC engine, each expectation taken from Istio's
 * documented semantics (/work/shared/reference/istio-authz-semantics.md, sections cited per test):
 * the emitter, the grpc bridge and the envelope (gRPC calls over real certificates) in one place.
 */
class RbacEmitterGrpcTest {
  private static final Workload FOO = new Workload("foo", Map.of("app", "a"));
  private static TestCert ns1;
  private static TestCert ns2;

  @BeforeAll
  static void certificates() {
    TestCa ca = TestCa.create("cluster.local");
    ns1 = ca.leaf("spiffe://cluster.local/ns/ns1/sa/sa1").issue();
    ns2 = ca.leaf("spiffe://cluster.local/ns/ns2/sa/sa2").issue();
  }

  private static GrpcCall call(String method, TestCert peer) {
    return call(method, peer, "svc.foo.svc.cluster.local", 8080, Map.of());
  }

  private static GrpcCall call(String method, TestCert peer, String authority, int port, Map<String, String> headers) {
    return new GrpcCall(method, authority, peer == null ? null : peer.certificate(), peer == null ? null : peer.spiffeId(),
        new InetSocketAddress("10.1.2.3", 40000), new InetSocketAddress("10.0.0.1", port), headers);
  }

  private static boolean allows(List<AuthorizationPolicy> policies, GrpcCall call) {
    GrpcRbac grpc = GrpcRbac.of(RbacEmitter.http(Fixtures.set(policies), MeshConfig.DEFAULT, FOO));
    return grpc.allows(call.metadata(), call.serverCall());
  }

  @Test
  void denyByNamespaceMatchesOnlyThatPeer() {
    // §4 namespaces: regex .*/ns/<v>/.* over the SPIFFE URI; needs mTLS.
    List<AuthorizationPolicy> p = List.of(deny("foo", "d")
        .rule(rule().from(source().namespaces("ns1"))).build());
    assertThat(allows(p, call("pkg.Svc/Get", ns1))).isFalse();
    assertThat(allows(p, call("pkg.Svc/Get", ns2))).isTrue();
    assertThat(allows(p, call("pkg.Svc/Get", null))).isTrue();
  }

  @Test
  void notFormsMatchAbsentAttributes() {
    // §3: notPrincipals matches plaintext; notRequestPrincipals matches a request without a JWT,
    // while requestPrincipals ["*"] needs one.
    assertThat(allows(List.of(deny("foo", "d")
        .rule(rule().from(source().notPrincipals("*"))).build()), call("pkg.Svc/Get", null))).isFalse();
    assertThat(allows(List.of(deny("foo", "d")
        .rule(rule().from(source().notRequestPrincipals("*"))).build()), call("pkg.Svc/Get", ns1))).isFalse();
    assertThat(allows(List.of(deny("foo", "d")
        .rule(rule().from(source().requestPrincipals("*"))).build()), call("pkg.Svc/Get", ns1))).isTrue();
  }

  @Test
  void allowByPrincipalPathAndMethod() {
    // §1: with an ALLOW policy a request must match one; §4 principals get spiffe://, paths prefix.
    List<AuthorizationPolicy> p = List.of(allow("foo", "a")
        .rule(rule().from(source().principals("cluster.local/ns/ns1/sa/sa1"))
            .to(op().methods("POST").paths("/pkg.Svc/*")))
        .build());
    assertThat(allows(p, call("pkg.Svc/Get", ns1))).isTrue();
    assertThat(allows(p, call("other.Admin/Delete", ns1))).isFalse();
    assertThat(allows(p, call("pkg.Svc/Get", ns2))).isFalse();
  }

  @Test
  void hostsKeepThePortAndIgnoreCase() {
    // §4 hosts: case-insensitive, the port in :authority is not stripped.
    List<AuthorizationPolicy> p = List.of(allow("foo", "a").rule(rule().to(op().hosts("svc.foo"))).build());
    assertThat(allows(p, call("pkg.Svc/Get", ns1, "SVC.foo", 8080, Map.of()))).isTrue();
    assertThat(allows(p, call("pkg.Svc/Get", ns1, "svc.foo:8080", 8080, Map.of()))).isFalse();
  }

  @Test
  void portsAndHeaders() {
    // §5: ports are the destination port; request.headers values are case-sensitive, * = present.
    List<AuthorizationPolicy> p = List.of(allow("foo", "a")
        .rule(rule().to(op().ports("8080")).when("request.headers[x-user]", "*")).build());
    assertThat(allows(p, call("pkg.Svc/Get", ns1, "svc", 8080, Map.of("x-user", "alice")))).isTrue();
    assertThat(allows(p, call("pkg.Svc/Get", ns1, "svc", 9090, Map.of("x-user", "alice")))).isFalse();
    assertThat(allows(p, call("pkg.Svc/Get", ns1, "svc", 8080, Map.of()))).isFalse();
  }

  @Test
  void auditAndDryRunNeverDecide() {
    // §1: AUDIT never affects the decision; dry-run policies are not enforced.
    List<AuthorizationPolicy> p = List.of(
        audit("foo", "audit").rule(rule()).build(),
        deny("foo", "dry").dryRun().rule(rule()).build());
    GrpcRbac grpc = GrpcRbac.of(RbacEmitter.http(Fixtures.set(p), MeshConfig.DEFAULT, FOO));
    assertThat(grpc.engines()).isZero();
  }

  @Test
  void pathTemplatesAreOutsideGrpcJavasEnvelope() {
    // grpc-java's RbacFilter has no case for Permission.uri_template: the whole config is refused.
    List<AuthorizationPolicy> p = List.of(allow("foo", "a").rule(rule().to(op().paths("/pkg.Svc/{*}"))).build());
    assertThatThrownBy(() -> allows(p, call("pkg.Svc/Get", ns1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("URI_TEMPLATE");
  }
}

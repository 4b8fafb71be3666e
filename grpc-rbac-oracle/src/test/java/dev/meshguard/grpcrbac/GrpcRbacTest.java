package dev.meshguard.grpcrbac;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.xds.GrpcRbac;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bridge to grpc-java's engine and the server call it reads, on hand-written Envoy RBAC configs
 * (the semantics are Envoy's {@code config/rbac/v3/rbac.proto}: a DENY filter denies what a policy
 * matches, an ALLOW filter denies what none matches, LOG decides nothing).
 */
class GrpcRbacTest {
  private static final String PEER_A = "spiffe://cluster.local/ns/a/sa/x";
  private static TestCert a;
  private static TestCert b;

  @BeforeAll
  static void certificates() {
    TestCa ca = TestCa.create("cluster.local");
    a = ca.leaf(PEER_A).issue();
    b = ca.leaf("spiffe://cluster.local/ns/b/sa/y").issue();
  }

  private static StubServerCall call(String fullMethod, TestCert peer) {
    return new StubServerCall(fullMethod, "svc.foo", peer == null ? null : peer.certificate(),
        new InetSocketAddress("10.1.2.3", 40000), new InetSocketAddress("10.0.0.1", 8080));
  }

  private static RBAC filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action, String name, Policy policy) {
    return RBAC.newBuilder()
        .setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder().setAction(action).putPolicies(name, policy))
        .build();
  }

  @Test
  void denyFilterDeniesThePeerItNamesFromItsCertificate() {
    Policy byPeer = Policy.newBuilder()
        .addPermissions(Permission.newBuilder().setAny(true))
        .addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
            .setPrincipalName(StringMatcher.newBuilder().setExact(PEER_A))))
        .build();
    GrpcRbac rbac = GrpcRbac.of(List.of(filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY, "deny-a", byPeer)));

    assertThat(rbac.engines()).isEqualTo(1);
    assertThat(rbac.denyingPolicy(StubServerCall.metadata(Map.of()), call("pkg.Svc/Get", a))).isEqualTo("deny-a");
    assertThat(rbac.allows(StubServerCall.metadata(Map.of()), call("pkg.Svc/Get", a))).isFalse();
    assertThat(rbac.allows(StubServerCall.metadata(Map.of()), call("pkg.Svc/Get", b))).isTrue();
    assertThat(rbac.denyingPolicy(StubServerCall.metadata(Map.of()), call("pkg.Svc/Get", null))).isNull();
  }

  @Test
  void allowFilterReadsThePathFromTheMethodAndTheHeadersFromTheMetadata() {
    Policy getWithUser = Policy.newBuilder()
        .addPermissions(Permission.newBuilder().setAndRules(Permission.Set.newBuilder()
            .addRules(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                .setPath(StringMatcher.newBuilder().setExact("/pkg.Svc/Get"))))
            .addRules(Permission.newBuilder().setHeader(HeaderMatcher.newBuilder()
                .setName("x-user").setPresentMatch(true)))))
        .addPrincipals(Principal.newBuilder().setAny(true))
        .build();
    GrpcRbac rbac = GrpcRbac.of(List.of(filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW, "get", getWithUser)));

    assertThat(rbac.allows(StubServerCall.metadata(Map.of("x-user", "alice")), call("pkg.Svc/Get", b))).isTrue();
    assertThat(rbac.denyingPolicy(StubServerCall.metadata(Map.of()), call("pkg.Svc/Get", b)))
        .isEqualTo("(no ALLOW policy matched)");
    assertThat(rbac.allows(StubServerCall.metadata(Map.of("x-user", "alice")), call("pkg.Svc/Put", b))).isFalse();
  }

  @Test
  void logFilterEnforcesNothing() {
    Policy any = Policy.newBuilder()
        .addPermissions(Permission.newBuilder().setAny(true))
        .addPrincipals(Principal.newBuilder().setAny(true))
        .build();
    GrpcRbac rbac = GrpcRbac.of(List.of(filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG, "audit", any)));
    assertThat(rbac.engines()).isZero();
  }
}

package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.audit;
import static dev.meshguard.policy.Fixtures.custom;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.model.AuthorizationPolicy;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The parts of istiod's builder without a golden file here, checked against what its source says
 * (istio/istio {@code pilot/pkg/security/authz/builder/builder.go}, {@code pilot/pkg/model/authorization.go}).
 */
class RbacEmitterTest {
  private static final Workload FOO = new Workload("foo", Map.of("app", "a"));

  @Test
  void noPolicyNoFilter() {
    assertThat(RbacEmitter.http(Fixtures.set(List.of()), MeshConfig.DEFAULT, FOO)).isEmpty();
  }

  @Test
  void allowWithoutRulesIsTheExplicitNeverMatchPolicy() {
    // builder.go: "Generate an explicit policy that never matches" (rbacPolicyMatchNever), named rule[0].
    AuthorizationPolicy allowNothing = allow("foo", "allow-nothing").build();
    List<RBAC> filters = RbacEmitter.http(Fixtures.set(List.of(allowNothing)), MeshConfig.DEFAULT, FOO);
    assertThat(filters).hasSize(1);
    assertThat(filters.get(0).getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
    assertThat(filters.get(0).getRules().getPoliciesMap())
        .containsExactly(Map.entry("ns[foo]-policy[allow-nothing]-rule[0]", RbacEmitter.MATCH_NEVER));
  }

  @Test
  void scopeIsRootAndOwnNamespaceWithSelectorAndTargetRefs() {
    // authorization.go ListAuthorizationPolicies: root namespace and the workload's namespace only;
    // a selector must be a subset of the labels; targetRef policies skip ordinary sidecars.
    AuthorizationPolicy root = deny("istio-system", "mesh-wide")
        .rule(rule().to(op().paths("/admin"))).build();
    AuthorizationPolicy other = deny("bar", "elsewhere")
        .rule(rule().to(op().paths("/x"))).build();
    AuthorizationPolicy selected = deny("foo", "selected").selector(Map.of("app", "a"))
        .rule(rule().to(op().paths("/y"))).build();
    AuthorizationPolicy unselected = deny("foo", "unselected").selector(Map.of("app", "b"))
        .rule(rule().to(op().paths("/z"))).build();
    AuthorizationPolicy gateway = deny("foo", "gateway-only").targetGateway("gw")
        .rule(rule().to(op().paths("/g"))).build();
    PolicySet set = Fixtures.set(List.of(root, other, selected, unselected, gateway));

    assertThat(denyPolicyNames(RbacEmitter.http(set, MeshConfig.DEFAULT, FOO))).containsExactly(
        "ns[foo]-policy[selected]-rule[0]", "ns[istio-system]-policy[mesh-wide]-rule[0]");
    Workload gatewayPod = new Workload("foo", Map.of(Workload.GATEWAY_NAME_LABEL, "gw"));
    assertThat(denyPolicyNames(RbacEmitter.http(set, MeshConfig.DEFAULT, gatewayPod))).containsExactly(
        "ns[foo]-policy[gateway-only]-rule[0]", "ns[istio-system]-policy[mesh-wide]-rule[0]");
  }

  @Test
  void filtersComeInIstiodOrderCustomAuditDenyAllow() {
    MeshConfig mesh = new MeshConfig("istio-system", "cluster.local", List.of(),
        Map.of("ext", new ExtensionProvider("ext", true, "ext.foo.svc.cluster.local", 9000, Duration.ofSeconds(1),
            false, "", List.of())), 0);
    PolicySet set = Fixtures.set(List.of(
        allow("foo", "a-allow").rule(rule().to(op().methods("GET"))).build(),
        deny("foo", "b-deny").rule(rule().to(op().methods("DELETE"))).build(),
        audit("foo", "c-audit").rule(rule().to(op().methods("POST"))).build(),
        custom("foo", "d-custom", "ext").rule(rule().to(op().paths("/ext"))).build()));

    List<RBAC> filters = RbacEmitter.http(set, mesh, FOO);

    assertThat(filters).hasSize(4);
    // CUSTOM: enforced CUSTOM rules only mark the request (shadow rules) for the ext_authz filter.
    assertThat(filters.get(0).hasRules()).isFalse();
    assertThat(filters.get(0).getShadowRulesStatPrefix()).isEqualTo("istio_ext_authz_");
    assertThat(filters.get(0).getShadowRules().getPoliciesMap()).containsOnlyKeys(
        "istio-ext-authz-ext-ns[foo]-policy[d-custom]-rule[0]");
    assertThat(filters.get(1).getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG);
    assertThat(filters.get(2).getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
    assertThat(filters.get(3).getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
  }

  @Test
  void customWithAnUndefinedProviderBecomesDenyRules() {
    // builder.go getBadCustomDenyRules: the policy names get "-deny-due-to-bad-CUSTOM-action".
    PolicySet set = Fixtures.set(List.of(
        custom("foo", "c", "missing").rule(rule().to(op().paths("/x"))).build()));
    List<RBAC> filters = RbacEmitter.http(set, MeshConfig.DEFAULT, FOO);
    assertThat(filters).hasSize(1);
    assertThat(filters.get(0).getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
    assertThat(filters.get(0).getRules().getPoliciesMap()).containsOnlyKeys(
        "istio-ext-authz-missing-ns[foo]-policy[c]-rule[0]-deny-due-to-bad-CUSTOM-action");
  }

  @Test
  void tcpAllowRuleWithAnHttpFieldIsDroppedWhole() {
    // model.go checkError: for ALLOW the error drops the rule; here rule[0] mixes ports and methods.
    PolicySet set = Fixtures.set(List.of(allow("foo", "p")
        .rule(rule().to(op().ports("80").methods("GET")))
        .rule(rule().to(op().ports("81")))
        .build()));
    var tcp = RbacEmitter.tcp(set, MeshConfig.DEFAULT, FOO);
    assertThat(tcp).hasSize(1);
    assertThat(tcp.get(0).getRules().getPoliciesMap()).containsOnlyKeys("ns[foo]-policy[p]-rule[1]");
  }

  @Test
  void celConditionsHaveNoRbacForm() {
    String cel = "request.path.startsWith('/x')";
    PolicySet set = Fixtures.set(List.of(
        allow("foo", "allow").rule(rule().from(source().namespaces("a")).cel(cel, 1, 1)).build(),
        deny("foo", "deny").rule(rule().from(source().namespaces("b")).cel(cel, 1, 1)).build()));
    List<RBAC> filters = RbacEmitter.http(set, MeshConfig.DEFAULT, FOO);
    // ALLOW: the rule is dropped (it matches nothing); DENY: only the condition is (it matches more).
    assertThat(filters.get(1).getRules().getPoliciesMap()).isEmpty();
    Policy deny = filters.get(0).getRules().getPoliciesMap().get("ns[foo]-policy[deny]-rule[0]");
    assertThat(deny.getPrincipals(0).getAndIds().getIdsList()).hasSize(1);
  }

  @Test
  void principalsAreExpandedOverTrustDomainAliases() {
    MeshConfig mesh = new MeshConfig("istio-system", "td1", List.of("old-td"), Map.of(), 0);
    PolicySet set = Fixtures.set(List.of(allow("foo", "p")
        .rule(rule().from(source().principals("cluster.local/ns/a/sa/b"))).build()));
    Policy policy = RbacEmitter.http(set, mesh, FOO).get(0).getRules().getPoliciesMap().get("ns[foo]-policy[p]-rule[0]");
    assertThat(policy.getPrincipals(0).getAndIds().getIds(0).getOrIds().getIdsList())
        .extracting(p -> p.getAuthenticated().getPrincipalName().getExact())
        .containsExactly("spiffe://td1/ns/a/sa/b", "spiffe://old-td/ns/a/sa/b");
  }

  private static List<String> denyPolicyNames(List<RBAC> filters) {
    return filters.stream()
        .filter(f -> f.getRules().getAction() == io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY)
        .flatMap(f -> f.getRules().getPoliciesMap().keySet().stream())
        .sorted()
        .toList();
  }
}

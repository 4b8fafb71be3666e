package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.audit;
import static dev.meshguard.policy.Fixtures.custom;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.grpcProvider;
import static dev.meshguard.policy.Fixtures.http;
import static dev.meshguard.policy.Fixtures.httpProvider;
import static dev.meshguard.policy.Fixtures.mesh;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static dev.meshguard.policy.Fixtures.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The decision algorithm (istio/api authorization_policy.proto header comment; istio.io
 * concepts/security "Authorization policy"; istio/istio builder/builder.go), scope
 * (pilot/pkg/model/policyattachment.go), dry-run, AUDIT, CUSTOM, and the reasons.
 */
class DecisionTest {

  private static final RequestAttributes ADMIN = http("GET", "api", "/admin").build();

  @Test
  void noPolicyAllows() {
    Decision d = engine().evaluate(ADMIN, null);
    assertThat(d).isEqualTo(new Decision(Outcome.ALLOW, null, null, -1, List.of(), List.of(), List.of(),
        "allowed: no authorization policy applies to workload foo/{}"));
  }

  @Test
  void anAllowPolicyWithoutRulesAllowsNothing() {
    Decision d = engine(allow("foo", "allow-nothing")).evaluate(ADMIN, null);
    assertThat(d.outcome()).isEqualTo(Outcome.DENY);
    assertThat(d.policy()).isNull();
    assertThat(d.reason()).isEqualTo("denied: no ALLOW policy matched; 1 ALLOW policy applies to workload foo/{}");
  }

  @Test
  void anEmptyRuleMatchesEverything() {
    assertThat(engine(allow("foo", "allow-all").anyRequest()).evaluate(ADMIN, null))
        .isEqualTo(new Decision(Outcome.ALLOW, "foo/allow-all", Action.ALLOW, 0, List.of(), List.of(), List.of(),
            "allowed by ALLOW policy foo/allow-all rule 0"));
    Decision denied = engine(deny("foo", "deny-all").anyRequest()).evaluate(ADMIN, null);
    assertThat(denied.outcome()).isEqualTo(Outcome.DENY);
    assertThat(denied.reason())
        .isEqualTo("denied by DENY policy foo/deny-all rule 0: the rule has no conditions, so it matches every request");
  }

  @Test
  void denyComesBeforeAllowAndNamesTheAttributeThatMatched() {
    var engine = engine(
        allow("foo", "allow-all").anyRequest(),
        deny("foo", "deny-admin").rule(rule().to(op().paths("/admin*"))));
    Decision d = engine.evaluate(ADMIN, null);
    assertThat(d).isEqualTo(new Decision(Outcome.DENY, "foo/deny-admin", Action.DENY, 0, List.of(), List.of(), List.of(),
        "denied by DENY policy foo/deny-admin rule 0: path /admin matched paths [/admin*]"));
    assertThat(engine.evaluate(http("GET", "api", "/public").build(), null).policy()).isEqualTo("foo/allow-all");
  }

  @Test
  void withOnlyDenyPoliciesWhatDoesNotMatchIsAllowed() {
    Decision d = engine(deny("foo", "deny-admin").rule(rule().to(op().paths("/admin")))).evaluate(
        http("GET", "api", "/other").build(), null);
    assertThat(d.outcome()).isEqualTo(Outcome.ALLOW);
    assertThat(d.reason())
        .isEqualTo("allowed: no DENY or CUSTOM policy denied and no ALLOW policy applies to workload foo/{}");
  }

  @Test
  void anyMatchingAllowRuleAllowsAndTheFirstInOrderIsNamed() {
    var engine = engine(
        allow("foo", "b").rule(rule().to(op().methods("POST"))).rule(rule().to(op().paths("/admin"))),
        allow("foo", "a").rule(rule().to(op().methods("PUT"))).rule(rule().to(op().methods("GET"))));
    Decision d = engine.evaluate(ADMIN, null);
    assertThat(d.policy()).isEqualTo("foo/a");
    assertThat(d.rule()).isEqualTo(1);
    assertThat(engine.evaluate(http("DELETE", "api", "/x").build(), null).reason())
        .isEqualTo("denied: no ALLOW policy matched; 2 ALLOW policies apply to workload foo/{}");
  }

  @Test
  void auditIsReportedAlongsideAndDoesNotTurnOnDenyByDefault() {
    var engine = engine(
        audit("foo", "z-audit").rule(rule().to(op().paths("/admin"))),
        audit("istio-system", "mesh-audit").anyRequest(),
        audit("foo", "a-audit").rule(rule().to(op().paths("/other"))));
    Decision d = engine.evaluate(ADMIN, null);
    assertThat(d.outcome()).isEqualTo(Outcome.ALLOW);
    assertThat(d.audit()).containsExactly("foo/z-audit", "istio-system/mesh-audit");
    assertThat(d.reason()).startsWith("allowed: no DENY or CUSTOM policy denied and no ALLOW policy applies");
  }

  @Test
  void dryRunPoliciesReportWhatTheyWouldDoAndNeverEnforce() {
    var engine = engine(
        deny("foo", "dry-deny").dryRun().rule(rule().to(op().paths("/admin"))),
        allow("foo", "dry-allow").dryRun().rule(rule().to(op().methods("GET"))),
        allow("foo", "dry-allow-post").dryRun().rule(rule().to(op().methods("POST"))));
    Decision d = engine.evaluate(ADMIN, null);
    // Every ALLOW policy is dry-run: the workload counts as having none, so the request is allowed.
    assertThat(d.outcome()).isEqualTo(Outcome.ALLOW);
    assertThat(d.dryRun()).containsExactly(new DryRunResult("foo/dry-allow", Outcome.ALLOW),
        new DryRunResult("foo/dry-deny", Outcome.DENY));
  }

  @Test
  void aDryRunAuditPolicyHasNoEffect() {
    Decision d = engine(audit("foo", "dry-audit").dryRun().anyRequest()).evaluate(ADMIN, null);
    assertThat(d.audit()).isEmpty();
    assertThat(d.dryRun()).isEmpty();
  }

  @Test
  void customProviderIsAskedOnlyWhenItsRuleMatchesAndCanOnlyDeny() {
    var mesh = mesh("cluster.local", List.of(), grpcProvider("opa"));
    var engine = engine(mesh,
        custom("foo", "ext", "opa").rule(rule().to(op().paths("/admin*"))),
        deny("foo", "deny-post").rule(rule().to(op().methods("POST"))),
        allow("foo", "allow-get").rule(rule().to(op().methods("GET"))));
    List<String> asked = new ArrayList<>();
    CustomDecider allowAll = p -> {
      asked.add(p);
      return true;
    };
    Decision allowed = engine.evaluate(ADMIN, allowAll);
    assertThat(allowed.outcome()).isEqualTo(Outcome.ALLOW);
    assertThat(allowed.policy()).isEqualTo("foo/allow-get");
    assertThat(allowed.custom()).containsExactly("opa");
    assertThat(asked).containsExactly("opa");

    // The provider allowing does not bypass DENY or ALLOW.
    assertThat(engine.evaluate(http("POST", "api", "/admin").build(), allowAll).policy()).isEqualTo("foo/deny-post");
    assertThat(engine.evaluate(http("PUT", "api", "/admin").build(), allowAll).outcome()).isEqualTo(Outcome.DENY);

    Decision denied = engine.evaluate(ADMIN, p -> false);
    assertThat(denied).isEqualTo(new Decision(Outcome.DENY, "foo/ext", Action.CUSTOM, 0, List.of(), List.of(),
        List.of("opa"), "denied by CUSTOM policy foo/ext rule 0: provider \"opa\" denied the request; "
            + "path /admin matched paths [/admin*]"));

    asked.clear();
    Decision notMatched = engine.evaluate(http("GET", "api", "/public").build(), allowAll);
    assertThat(notMatched.custom()).isEmpty();
    assertThat(asked).isEmpty();
  }

  @Test
  void anUndefinedProviderTurnsCustomRulesIntoDenyRules() {
    var engine = engine(custom("foo", "ext", "missing").rule(rule().to(op().paths("/admin"))));
    List<String> asked = new ArrayList<>();
    Decision d = engine.evaluate(ADMIN, p -> asked.add(p));
    assertThat(d.outcome()).isEqualTo(Outcome.DENY);
    assertThat(d.action()).isEqualTo(Action.CUSTOM);
    assertThat(d.reason()).contains("provider \"missing\" is not defined in meshConfig.extensionProviders");
    assertThat(asked).isEmpty();
    assertThat(engine.evaluate(http("GET", "api", "/x").build(), null).allowed()).isTrue();
  }

  @Test
  void providersAreAskedInNameOrderAndTheFirstDenialDecides() {
    var mesh = mesh("cluster.local", List.of(), grpcProvider("b-provider"), grpcProvider("a-provider"));
    var engine = engine(mesh,
        custom("foo", "p1", "b-provider").anyRequest(),
        custom("foo", "p2", "a-provider").anyRequest());
    List<String> asked = new ArrayList<>();
    Decision d = engine.evaluate(ADMIN, p -> {
      asked.add(p);
      return !p.equals("a-provider");
    });
    assertThat(asked).containsExactly("a-provider");
    assertThat(d.policy()).isEqualTo("foo/p2");
    assertThat(engine.evaluate(ADMIN, null).custom()).containsExactly("a-provider", "b-provider");
  }

  @Test
  void onTcpAnHttpProviderDoesNothingAndAGrpcProviderApplies() {
    var mesh = mesh("cluster.local", List.of(), httpProvider("http-authz"), grpcProvider("grpc-authz"));
    var httpOnly = engine(mesh, custom("foo", "h", "http-authz").anyRequest());
    var grpc = engine(mesh, custom("foo", "g", "grpc-authz").anyRequest());
    assertThat(httpOnly.evaluate(tcp().build(), p -> false).allowed()).isTrue();
    assertThat(httpOnly.evaluate(ADMIN, p -> false).allowed()).isFalse();
    assertThat(grpc.evaluate(tcp().build(), p -> false).allowed()).isFalse();
  }

  @Test
  void aThrowingDeciderDeniesInsteadOfThrowing() {
    var engine = engine(mesh("cluster.local", List.of(), grpcProvider("opa")), custom("foo", "ext", "opa").anyRequest());
    Decision d = engine.evaluate(ADMIN, p -> {
      throw new IllegalStateException("boom");
    });
    assertThat(d.outcome()).isEqualTo(Outcome.DENY);
  }

  @Test
  void dryRunCustomAsksTheProviderButDoesNotEnforce() {
    var engine = engine(mesh("cluster.local", List.of(), grpcProvider("opa")),
        custom("foo", "ext", "opa").dryRun().anyRequest());
    Decision d = engine.evaluate(ADMIN, p -> false);
    assertThat(d.allowed()).isTrue();
    assertThat(d.dryRun()).containsExactly(new DryRunResult("foo/ext", Outcome.DENY));
  }

  @Test
  void onlyTheRootNamespaceAndTheWorkloadsOwnNamespaceApply() {
    var engine = engine(
        deny("istio-system", "mesh-wide").rule(rule().to(op().paths("/mesh"))),
        deny("bar", "other-namespace").anyRequest(),
        deny("foo", "own").rule(rule().to(op().paths("/own"))));
    assertThat(engine.forWorkload(new Workload("foo", Map.of())).policies())
        .containsExactly("foo/own", "istio-system/mesh-wide");
    assertThat(engine.evaluate(http("GET", "h", "/mesh").build(), null).policy()).isEqualTo("istio-system/mesh-wide");
    assertThat(engine.evaluate(http("GET", "h", "/x").build(), null).allowed()).isTrue();
  }

  @Test
  void aConfiguredRootNamespaceReplacesIstioSystem() {
    var mesh = new MeshConfig("mesh-root", "cluster.local", List.of(), Map.of(), 0);
    var engine = engine(mesh, deny("mesh-root", "a").anyRequest(), deny("istio-system", "b").anyRequest());
    assertThat(engine.forWorkload(new Workload("foo", Map.of())).policies()).containsExactly("mesh-root/a");
    assertThat(engine.forWorkload(new Workload("istio-system", Map.of())).policies())
        .containsExactly("istio-system/b", "mesh-root/a");
  }

  @Test
  void selectorMatchLabelsMustBeASubsetOfTheWorkloadLabels() {
    var engine = engine(
        deny("foo", "app-web").selector("app", "web").anyRequest(),
        deny("foo", "app-web-v2").selector("app", "web").selector("version", "v2").anyRequest(),
        deny("foo", "no-selector").rule(rule().to(op().paths("/nothing"))));
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "web", "version", "v1"))).policies())
        .containsExactly("foo/app-web", "foo/no-selector");
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "web", "version", "v2"))).policies())
        .containsExactly("foo/app-web", "foo/app-web-v2", "foo/no-selector");
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "Web"))).policies())
        .containsExactly("foo/no-selector");
  }

  @Test
  void targetRefPoliciesApplyOnlyToTheGatewayTheyName() {
    var engine = engine(
        allow("foo", "gw-a").targetGateway("gw-a").anyRequest(),
        allow("foo", "gw-b").targetGateway("gw-b").anyRequest(),
        allow("foo", "by-selector").selector("app", "ingress").anyRequest(),
        allow("istio-system", "root-gw-a").targetGateway("gw-a").anyRequest(),
        allow("foo", "service").targetRef(new TargetRef("", "Service", "svc", "")).anyRequest());
    Map<String, String> gatewayLabels = Map.of(Workload.GATEWAY_NAME_LABEL, "gw-a", "app", "ingress");
    assertThat(engine.forWorkload(new Workload("foo", gatewayLabels)).policies())
        .containsExactly("foo/by-selector", "foo/gw-a");
    // A sidecar ignores every policy that has targetRefs.
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "ingress"))).policies())
        .containsExactly("foo/by-selector");
    assertThat(engine.forWorkload(new Workload("bar", gatewayLabels)).policies()).isEmpty();
  }

  @Test
  void workloadProgramsAreCachedPerWorkload() {
    var engine = engine(deny("foo", "d").anyRequest());
    WorkloadPolicies a = engine.forWorkload(new Workload("foo", Map.of("app", "x")));
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "x")))).isSameAs(a);
    assertThat(engine.forWorkload(new Workload("foo", Map.of("app", "y")))).isNotSameAs(a);
  }

  @Test
  void explainSaysWhichClauseFailed() {
    var engine = engine(
        allow("foo", "frontend").rule(rule().from(source().principals("cluster.local/ns/web/sa/frontend"))
            .to(op().methods("GET").paths("/api/*"))),
        deny("foo", "deny-admin").rule(rule().to(op().paths("/admin*"))));
    Explanation e = engine.explain(http("GET", "api", "/api/items").from("web", "backend").build(), null);
    assertThat(e.decision().outcome()).isEqualTo(Outcome.DENY);
    assertThat(e.policies()).extracting(Explanation.PolicyExplanation::policy)
        .containsExactly("foo/deny-admin", "foo/frontend");
    assertThat(e.policies().get(0).rules().get(0)).isEqualTo(new Explanation.RuleExplanation(0, false,
        "to: to[0]: path /api/items matched none of paths [/admin*]"));
    assertThat(e.policies().get(1).rules().get(0)).isEqualTo(new Explanation.RuleExplanation(0, false,
        "from: from[0]: principal spiffe://cluster.local/ns/web/sa/backend matched none of principals"
            + " [cluster.local/ns/web/sa/frontend]"));
    assertThat(e.render()).startsWith("DENY: denied: no ALLOW policy matched; 1 ALLOW policy applies to workload foo/{}\n"
        + "HTTP request to workload foo/{}: 2 policies apply\n"
        + "  DENY foo/deny-admin: no rule matched\n");
  }

  @Test
  void explainShowsWhyATcpRuleCanNeverMatch() {
    var engine = engine(allow("foo", "http-only").rule(rule().to(op().paths("/x"))));
    Explanation e = engine.explain(tcp().build(), null);
    assertThat(e.http()).isFalse();
    assertThat(e.policies().get(0).rules().get(0).detail())
        .isEqualTo("never matches on TCP: it uses the HTTP-only paths (Istio drops such ALLOW rules from TCP filter chains)");
  }
}

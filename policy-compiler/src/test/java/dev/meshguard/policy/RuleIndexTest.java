package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.claims;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.http;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which rules the index checks on every request, and that lookups find what they must. */
class RuleIndexTest {

  private static WorkloadPolicies program(Fixtures.PolicyBuilder... policies) {
    return engine(policies).forWorkload(new Workload("foo", Map.of()));
  }

  @Test
  void rulesWithASelectivePositiveFieldAreIndexed() {
    List<Fixtures.PolicyBuilder> policies = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      policies.add(allow("foo", "p" + i).rule(rule().from(source().principals("cluster.local/ns/n" + i + "/sa/s"))
          .to(op().methods("GET").paths("/api/v" + i + "/*"))));
    }
    WorkloadPolicies p = program(policies.toArray(new Fixtures.PolicyBuilder[0]));
    assertThat(p.alwaysChecked(true)).isZero();
    assertThat(p.evaluate(http("GET", "h", "/api/v7/x").from("n7", "s").build(), null).policy()).isEqualTo("foo/p7");
    assertThat(p.evaluate(http("GET", "h", "/api/v7/x").from("n8", "s").build(), null).allowed()).isFalse();
  }

  @Test
  void rulesWithoutAUsablePositiveFieldAreCheckedAlways() {
    WorkloadPolicies p = program(
        allow("foo", "any").anyRequest(),
        deny("foo", "not-only").rule(rule().to(op().notPaths("/x"))),
        deny("foo", "regex-namespace").rule(rule().from(source().namespaces("we*"))),
        allow("foo", "jwt").rule(rule().from(source().requestPrincipals("a/b"))),
        allow("foo", "presence").rule(rule().when("request.headers[x]", "*")));
    assertThat(p.alwaysChecked(true)).isEqualTo(5);
  }

  @Test
  void everyKindOfKeyIsFound() {
    WorkloadPolicies p = program(
        deny("foo", "d01-principal-prefix").rule(rule().from(source().principals("cluster.local/ns/bad/*"))),
        deny("foo", "d02-principal-suffix").rule(rule().from(source().principals("*/sa/evil"))),
        deny("foo", "d03-namespace").rule(rule().from(source().namespaces("quarantine"))),
        deny("foo", "d04-host").rule(rule().to(op().hosts("Admin.Example.com"))),
        deny("foo", "d05-path-suffix").rule(rule().to(op().paths("*.php"))),
        deny("foo", "d06-template").rule(rule().to(op().paths("/internal/{*}/debug"))),
        deny("foo", "d07-header").rule(rule().when("request.headers[x-debug]", "on")),
        deny("foo", "d08-claim-list").rule(rule().when("request.auth.claims[groups]", "banned")),
        deny("foo", "d09-scope").rule(rule().when("request.auth.claims[scope]", "evil")),
        deny("foo", "d10-cidr").rule(rule().from(source().ipBlocks("192.0.2.0/24"))),
        deny("foo", "d11-port").rule(rule().to(op().ports("6379"))),
        deny("foo", "d12-sni").rule(rule().when("connection.sni", "blocked.example")),
        deny("foo", "d13-remote").rule(rule().from(source().remoteIpBlocks("2001:db8::/32"))),
        deny("foo", "d14-dest").rule(rule().when("destination.ip", "10.99.0.0/16")),
        deny("foo", "d15-method").rule(rule().to(op().methods("TRACE"))),
        deny("foo", "d16-never").rule(rule().when("experimental.envoy.filters.x[y]", "z")));
    assertThat(p.alwaysChecked(true)).isZero();
    assertThat(denier(p, http("GET", "h", "/").from("bad", "x"))).isEqualTo("foo/d01-principal-prefix");
    assertThat(denier(p, http("GET", "h", "/").principal("spiffe://x/ns/y/sa/evil"))).isEqualTo("foo/d02-principal-suffix");
    assertThat(denier(p, http("GET", "h", "/").from("quarantine", "x"))).isEqualTo("foo/d03-namespace");
    assertThat(denier(p, http("GET", "ADMIN.example.COM", "/"))).isEqualTo("foo/d04-host");
    assertThat(denier(p, http("GET", "h", "/x/index.php?a=b"))).isEqualTo("foo/d05-path-suffix");
    assertThat(denier(p, http("GET", "h", "/internal/a/debug"))).isEqualTo("foo/d06-template");
    assertThat(denier(p, http("GET", "h", "/").header("x-debug", "on"))).isEqualTo("foo/d07-header");
    assertThat(denier(p, http("GET", "h", "/").jwt(claims("groups", List.of("a", "banned"))))).isEqualTo("foo/d08-claim-list");
    assertThat(denier(p, http("GET", "h", "/").jwt(claims("scope", "read  evil")))).isEqualTo("foo/d09-scope");
    assertThat(denier(p, http("GET", "h", "/").sourceIp("192.0.2.200"))).isEqualTo("foo/d10-cidr");
    assertThat(denier(p, http("GET", "h", "/").port(6379))).isEqualTo("foo/d11-port");
    assertThat(denier(p, http("GET", "h", "/").sni("blocked.example"))).isEqualTo("foo/d12-sni");
    assertThat(denier(p, http("GET", "h", "/").remoteIp("2001:db8::1"))).isEqualTo("foo/d13-remote");
    assertThat(denier(p, http("GET", "h", "/").destinationIp("10.99.1.1"))).isEqualTo("foo/d14-dest");
    assertThat(denier(p, http("TRACE", "h", "/"))).isEqualTo("foo/d15-method");
    assertThat(denier(p, http("GET", "h", "/ok"))).isNull();
  }

  private static String denier(WorkloadPolicies p, Fixtures.RequestBuilder r) {
    return p.evaluate(r.build(), null).policy();
  }

  @Test
  void aRuleWithSeveralFromEntriesIsFoundThroughAnyOfThem() {
    List<Fixtures.PolicyBuilder> policies = new ArrayList<>();
    policies.add(deny("foo", "d").rule(rule()
        .from(source().principals("cluster.local/ns/a/sa/a"))
        .from(source().ipBlocks("192.0.2.1"))
        .from(source().namespaces("c"))));
    // Other keys in the same dimensions, so that each key is selective enough to be worth a lookup.
    for (int i = 0; i < 10; i++) {
      policies.add(deny("foo", "other" + i).rule(rule().from(source().principals("cluster.local/ns/o/sa/" + i)))
          .rule(rule().from(source().ipBlocks("198.51.100." + i))).rule(rule().from(source().namespaces("o" + i))));
    }
    WorkloadPolicies p = program(policies.toArray(new Fixtures.PolicyBuilder[0]));
    assertThat(p.alwaysChecked(true)).isZero();
    assertThat(denier(p, http("GET", "h", "/").from("a", "a"))).isEqualTo("foo/d");
    assertThat(denier(p, http("GET", "h", "/").sourceIp("192.0.2.1"))).isEqualTo("foo/d");
    assertThat(denier(p, http("GET", "h", "/").from("c", "x"))).isEqualTo("foo/d");
    assertThat(denier(p, http("GET", "h", "/").from("b", "x"))).isNull();
  }

  @Test
  void theSelectiveFieldIsPreferredOverACommonOne() {
    List<Fixtures.PolicyBuilder> policies = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      policies.add(allow("foo", "p" + i).rule(rule().to(op().methods("GET").paths("/svc" + i))));
    }
    WorkloadPolicies p = program(policies.toArray(new Fixtures.PolicyBuilder[0]));
    assertThat(p.alwaysChecked(true)).isZero();
    assertThat(p.evaluate(http("GET", "h", "/svc49").build(), null).policy()).isEqualTo("foo/p49");
    assertThat(p.evaluate(http("POST", "h", "/svc49").build(), null).allowed()).isFalse();
  }

  @Test
  void rulesSharingSingleValuesArePairedSoCandidatesStayFew() {
    // 10,000 rules over 100 principals, 10 methods and 10 hosts: each principal alone is shared by
    // 100 rules, but a (principal, method) pair by about 10, a request hits one pair.
    List<Fixtures.PolicyBuilder> policies = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      policies.add(allow("foo", "p" + i).rule(rule()
          .from(source().principals("cluster.local/ns/n/sa/s" + (i % 100)))
          .to(op().methods("M" + (i / 100 % 10)).hosts("Host" + (i / 1000) + ".example.com").paths("/p" + i + "/*"))));
    }
    WorkloadPolicies p = program(policies.toArray(new Fixtures.PolicyBuilder[0]));
    var request = http("M3", "HOST7.example.com", "/p7342/x").from("n", "s42");
    assertThat(p.candidates(request.build())).isLessThanOrEqualTo(10);
    assertThat(p.evaluate(request.build(), null).policy()).isEqualTo("foo/p7342");
    assertThat(p.evaluate(http("M3", "host7.example.com", "/p7343/x").from("n", "s42").build(), null).allowed())
        .isFalse();
  }

  @Test
  void pairsFoldHostCaseFindEveryNamespaceSegmentAndStripTheQuery() {
    List<Fixtures.PolicyBuilder> policies = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      policies.add(deny("foo", "host-" + i).rule(rule().from(source().principals("cluster.local/ns/a/sa/" + (i % 4)))
          .to(op().hosts("Site" + (i % 10) + ".example.com"))));
      policies.add(deny("foo", "ns-" + i).rule(rule().from(source().namespaces("ns" + (i % 4)))
          .to(op().ports(String.valueOf(9000 + i % 10)))));
      policies.add(deny("foo", "path-" + i).rule(rule().to(op().paths("/exact" + (i % 10)).methods("M" + (i % 4)))));
    }
    WorkloadPolicies p = program(policies.toArray(new Fixtures.PolicyBuilder[0]));
    assertThat(p.alwaysChecked(true)).isZero();
    assertThat(p.evaluate(http("GET", "SITE3.Example.COM", "/").from("a", "3").build(), null).policy())
        .isEqualTo("foo/host-23"); // host-3 matches too; host-23 comes first in name order
    assertThat(p.evaluate(http("GET", "h", "/").principal("spiffe://td/ns/x/ns/ns2/sa/b").port(9002).build(), null)
        .policy()).isEqualTo("foo/ns-2");
    assertThat(p.evaluate(http("M1", "h", "/exact1?q=2").build(), null).policy()).isEqualTo("foo/path-1");
    assertThat(p.evaluate(http("M2", "h", "/exact1").build(), null).allowed()).isTrue();
  }
}

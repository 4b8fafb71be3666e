package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.claims;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.http;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.set;
import static dev.meshguard.policy.Fixtures.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CelConditionsTest {

  @Test
  void everyDeclaredVariableResolvesAndHasItsType() {
    var engine = engine(allow("foo", "cel").meshguard().rule(rule().cel("""
        request.http && request.method == "POST" && request.host == "api.example.com"
        && request.path == "/v1/items?x=1" && request.url_path == "/v1/items"
        && request.headers["x-tenant"] == "t1"
        && request.auth.principal == "https://issuer.example.com/alice"
        && "api" in request.auth.audiences && request.auth.presenter == "web"
        && request.auth.claims["groups"].exists(g, g == "admins")
        && request.auth.claims["org"]["id"] == 42.0
        && source.principal == "spiffe://cluster.local/ns/web/sa/frontend" && source.namespace == "web"
        && source.ip == "10.1.2.3" && remote.ip == "192.0.2.7" && destination.ip == "10.9.9.9"
        && destination.port == 8080 && connection.sni == "api.example.com"
        """, 7, 9)));
    var request = http("POST", "api.example.com", "/v1/items?x=1").header("x-tenant", "t1")
        .from("web", "frontend").remoteIp("192.0.2.7").sni("api.example.com")
        .jwt(claims("iss", "https://issuer.example.com", "sub", "alice", "aud", List.of("api", "other"), "azp", "web",
            "groups", List.of("users", "admins"), "org", Map.of("id", 42)));
    assertThat(engine.evaluate(request.build(), null).allowed()).isTrue();
    assertThat(engine.evaluate(request.header("x-tenant", "t2").build(), null).allowed()).isFalse();
  }

  @Test
  void tcpConnectionsSeeEmptyHttpVariables() {
    var engine = engine(allow("foo", "tcp-only").meshguard().rule(rule().cel(
        "!request.http && request.path == \"\" && size(request.headers) == 0 && request.auth.claims == {}", 1, 1)));
    assertThat(engine.evaluate(tcp().build(), null).allowed()).isTrue();
    assertThat(engine.evaluate(http("GET", "h", "/").build(), null).allowed()).isFalse();
  }

  @Test
  void anEvaluationErrorNarrowsAllowAndWidensDeny() {
    // request.headers["x-missing"] raises "no such key" at run time.
    String missing = "request.headers[\"x-missing\"] == \"1\"";
    var allowEngine = engine(allow("foo", "a").meshguard().rule(rule().cel(missing, 1, 1)));
    var denyEngine = engine(deny("foo", "d").meshguard().rule(rule().cel(missing, 1, 1)));
    var request = http("GET", "h", "/").build();
    assertThat(allowEngine.evaluate(request, null).allowed()).isFalse();
    assertThat(denyEngine.evaluate(request, null).allowed()).isFalse();
    assertThat(denyEngine.explain(request, null).render()).contains("failed (");
  }

  @Test
  void compileErrorsAreReportedTogetherWithPositionAndFieldPath() {
    var policies = set(
        allow("foo", "bad-syntax").meshguard().rule(rule().cel("request.path ==", 12, 15)),
        allow("foo", "bad-type").meshguard().rule(rule().cel("request.method", 20, 9)),
        allow("foo", "undeclared").meshguard().rule(rule().when("request.headers[x]", "1").cel("nope == 1", 30, 11)));
    assertThatThrownBy(() -> PolicyEngine.compile(policies, MeshConfig.DEFAULT))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          List<ConfigError> errors = e.errors();
          assertThat(errors).hasSize(3);
          assertThat(errors.get(0).render()).startsWith("policy.yaml:12:15: spec.rules[0].when[0].cel: CEL ")
              .contains("foo/bad-syntax");
          assertThat(errors.get(1).render()).startsWith("policy.yaml:20:9: spec.rules[0].when[0].cel: ")
              .contains("bool");
          assertThat(errors.get(2).render()).startsWith("policy.yaml:30:11: spec.rules[0].when[1].cel: ")
              .contains("undeclared reference").contains("nope");
        });
  }

  @Test
  void celIsRefusedInIstioVersionedPolicies() {
    var policies = set(allow("foo", "istio").rule(rule().cel("true", 3, 4)));
    assertThatThrownBy(() -> PolicyEngine.compile(policies, MeshConfig.DEFAULT))
        .isInstanceOf(ConfigException.class)
        .hasMessage("policy.yaml:3:4: spec.rules[0].when[0].cel: CEL conditions are only accepted in meshguard.dev/v1"
            + " policies, not security.istio.io/v1 (policy foo/istio)");
  }

  @Test
  void costLimitsRefuseOversizedExpressions() {
    String huge = "request.path == \"" + "x".repeat(CelConditions.MAX_CODE_POINTS) + "\"";
    assertThat(CelConditions.compile(huge).error()).contains("CEL");
    String deep = "(".repeat(CelConditions.MAX_DEPTH + 5) + "true" + ")".repeat(CelConditions.MAX_DEPTH + 5);
    assertThat(CelConditions.compile(deep).error()).isNotNull();
    StringBuilder wide = new StringBuilder("true");
    for (int i = 0; i < CelConditions.MAX_NODES; i++) {
      wide.append(" && true");
    }
    assertThat(CelConditions.compile(wide.toString()).error()).isNotNull();
  }

  @Test
  void comprehensionsStopAtTheIterationLimit() {
    var engine = engine(allow("foo", "loop").meshguard().rule(rule().cel("request.headers.all(k, k != \"\")", 1, 1)));
    var small = http("GET", "h", "/");
    var big = http("GET", "h", "/");
    for (int i = 0; i < CelConditions.MAX_ITERATIONS + 10; i++) {
      big.header("x-h" + i, "v");
    }
    assertThat(engine.evaluate(small.build(), null).allowed()).isTrue();
    // Over the limit the evaluation fails, and in an ALLOW policy a failure is no match.
    assertThat(engine.evaluate(big.build(), null).allowed()).isFalse();
  }

  @Test
  void aCelErrorInAPolicyFilePointsAtTheExpression() throws ConfigException {
    PolicySet loaded = PolicyLoader.parse("policies/cel.yaml", """
        apiVersion: meshguard.dev/v1
        kind: AuthorizationPolicy
        metadata:
          name: tenant
          namespace: foo
        spec:
          rules:
          - when:
            - cel: request.headers["x-tenant"] == 1
        """);
    assertThatThrownBy(() -> PolicyEngine.compile(loaded, MeshConfig.DEFAULT))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("policies/cel.yaml:9:12: spec.rules[0].when[0].cel: CEL 1:")
        .hasMessageContaining("found no matching overload");
  }
}

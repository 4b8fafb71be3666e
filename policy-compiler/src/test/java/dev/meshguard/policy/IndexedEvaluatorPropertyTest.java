package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The main guard of the index: for random policy sets and requests, the indexed engine decides
 * exactly as {@link ReferenceEvaluator}, a plain linear scan over the model records. Values come
 * from small vocabularies so that matches are frequent; each try compiles a few policies and
 * asks many requests.
 */
class IndexedEvaluatorPropertyTest {

  private static final List<String> PRINCIPALS = List.of("cluster.local/ns/web/sa/a", "cluster.local/ns/web/*",
      "*/sa/b", "*", "td2/ns/api/sa/a", "other/ns/web/sa/b", "cluster.local/ns/api/sa/*", "td1/ns/web/sa/a");
  private static final List<String> NAMESPACES = List.of("web", "api", "w*", "*", "a*i");
  private static final List<String> CIDRS = List.of("10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "2001:db8::/32", "0.0.0.0/0");
  private static final List<String> REQUEST_PRINCIPALS = List.of("iss1/alice", "iss1/*", "*/bob", "*", "iss*", "*ce");
  private static final List<String> SERVICE_ACCOUNTS = List.of("web/a", "a", "api/b");
  private static final List<String> HOSTS = List.of("example.com", "*.example.com", "EXAMPLE.com:*", "*", "api*");
  private static final List<String> PORTS = List.of("80", "8080", "9090");
  private static final List<String> METHODS = List.of("GET", "POST", "G*", "*T");
  private static final List<String> PATHS = List.of("/admin", "/admin*", "*.js", "/api/{*}/x", "/api/{**}", "*",
      "/api/v1/x", "/app.js", "/other");
  private static final List<String> HEADER_VALUES = List.of("1", "2*", "*", "*x");
  private static final List<String> CLAIM_VALUES = List.of("admins", "adm*", "write", "sec*", "*");
  private static final List<String> SNI_VALUES = List.of("a.example.com", "*.example.com", "*");
  private static final List<String> CONDITION_KEYS = List.of("request.headers[X-A]", "source.ip", "remote.ip",
      "destination.ip", "destination.port", "connection.sni", "source.namespace", "source.principal",
      "source.serviceAccount", "request.auth.claims[groups]", "request.auth.claims[scope]",
      "request.auth.claims[org][team]", "request.auth.audiences", "request.auth.presenter",
      "request.auth.principal", "experimental.envoy.filters.x[y]");

  @Property(tries = 300)
  void theIndexedEngineDecidesAsTheReference(@ForAll("seeds") long seed) throws ConfigException {
    Random random = new Random(seed);
    MeshConfig mesh = random.nextBoolean()
        ? Fixtures.mesh("cluster.local", List.of(), Fixtures.grpcProvider("grpc-p"), Fixtures.httpProvider("http-p"))
        : Fixtures.mesh("td1", List.of("td2"), Fixtures.grpcProvider("grpc-p"), Fixtures.httpProvider("http-p"));
    List<AuthorizationPolicy> policies = new ArrayList<>();
    int count = 1 + random.nextInt(12);
    for (int i = 0; i < count; i++) {
      policies.add(policy(random, i));
    }
    PolicyEngine engine = PolicyEngine.compile(Fixtures.set(policies), mesh);
    ReferenceEvaluator reference = new ReferenceEvaluator(policies, mesh);
    for (int i = 0; i < 40; i++) {
      RequestAttributes request = request(random);
      CustomDecider decider = provider -> (provider.hashCode() + request.hashCode()) % 3 != 0;
      var expected = reference.decide(request, decider);
      var actual = ReferenceEvaluator.Verdict.of(engine.evaluate(request, decider));
      assertThat(actual).as("policies %s%nrequest %s", policies, request).isEqualTo(expected);
      // explain agrees with evaluate on whether each deciding rule matched.
      if (actual.policy() != null) {
        var explanation = engine.explain(request, decider);
        assertThat(explanation.policies()).filteredOn(p -> p.policy().equals(actual.policy()))
            .anySatisfy(p -> assertThat(p.rules().get(actual.rule()).matched()).isTrue());
      }
    }
  }

  /** Many policies of one shape: the index (not the always-checked list) carries the load. */
  @Property(tries = 30)
  void largeSetsStillAgree(@ForAll("seeds") long seed) throws ConfigException {
    Random random = new Random(seed);
    MeshConfig mesh = Fixtures.mesh("cluster.local", List.of(), Fixtures.grpcProvider("grpc-p"));
    List<AuthorizationPolicy> policies = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      policies.add(policy(random, i));
    }
    PolicyEngine engine = PolicyEngine.compile(Fixtures.set(policies), mesh);
    ReferenceEvaluator reference = new ReferenceEvaluator(policies, mesh);
    for (int i = 0; i < 60; i++) {
      RequestAttributes request = request(random);
      assertThat(ReferenceEvaluator.Verdict.of(engine.evaluate(request, CustomDecider.ALLOW_ALL)))
          .isEqualTo(reference.decide(request, CustomDecider.ALLOW_ALL));
    }
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }

  // --- policies ---

  private static <T> T pick(Random r, List<T> from) {
    return from.get(r.nextInt(from.size()));
  }

  private static List<String> some(Random r, List<String> from, int max) {
    int n = r.nextInt(max + 1);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(pick(r, from));
    }
    return out;
  }

  static AuthorizationPolicy policy(Random r, int i) {
    Action action = pick(r, List.of(Action.ALLOW, Action.ALLOW, Action.DENY, Action.DENY, Action.AUDIT, Action.CUSTOM));
    String ns = pick(r, List.of("foo", "foo", "bar", "istio-system"));
    Map<String, String> selector = new LinkedHashMap<>();
    List<TargetRef> targetRefs = new ArrayList<>();
    int scope = r.nextInt(6);
    if (scope == 0) {
      selector.put("app", pick(r, List.of("a", "b")));
    } else if (scope == 1) {
      targetRefs.add(new TargetRef("gateway.networking.k8s.io", "Gateway", pick(r, List.of("gw", "other")), ""));
    }
    boolean dryRun = r.nextInt(6) == 0;
    String provider = action == Action.CUSTOM ? pick(r, List.of("grpc-p", "http-p", "missing")) : null;
    List<Rule> rules = new ArrayList<>();
    int ruleCount = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(3);
    for (int k = 0; k < ruleCount; k++) {
      rules.add(rule(r));
    }
    return new AuthorizationPolicy(AuthorizationPolicy.ISTIO_V1, ns, "p" + i + "-" + r.nextInt(1000),
        dryRun ? Map.of("istio.io/dry-run", "true") : Map.of(), dryRun, selector, targetRefs, action, provider, rules,
        Position.UNKNOWN);
  }

  private static Rule rule(Random r) {
    List<Source> from = new ArrayList<>();
    for (int n = r.nextInt(3); n > 0; n--) {
      from.add(source(r));
    }
    List<Operation> to = new ArrayList<>();
    for (int n = r.nextInt(3); n > 0; n--) {
      to.add(operation(r));
    }
    List<Condition> when = new ArrayList<>();
    for (int n = r.nextInt(3); n > 0; n--) {
      when.add(condition(r));
    }
    return new Rule(from, to, when, Position.UNKNOWN);
  }

  /** A field with values and/or notValues (at least one of them), or nothing. */
  private static List<List<String>> field(Random r, List<String> vocabulary) {
    if (r.nextInt(3) != 0) {
      return List.of(List.of(), List.of());
    }
    List<String> values = some(r, vocabulary, 2);
    List<String> notValues = r.nextInt(3) == 0 ? some(r, vocabulary, 2) : List.of();
    if (values.isEmpty() && notValues.isEmpty()) {
      values = List.of(pick(r, vocabulary));
    }
    return List.of(values, notValues);
  }

  private static Source source(Random r) {
    while (true) {
      var principals = field(r, PRINCIPALS);
      var requestPrincipals = field(r, REQUEST_PRINCIPALS);
      var namespaces = field(r, NAMESPACES);
      var ipBlocks = field(r, CIDRS);
      var remoteIpBlocks = field(r, CIDRS);
      var serviceAccounts = principals.get(0).isEmpty() && principals.get(1).isEmpty() && namespaces.get(0).isEmpty()
          && namespaces.get(1).isEmpty() ? field(r, SERVICE_ACCOUNTS) : List.of(List.<String>of(), List.<String>of());
      Source s = new Source(principals.get(0), principals.get(1), requestPrincipals.get(0), requestPrincipals.get(1),
          namespaces.get(0), namespaces.get(1), ipBlocks.get(0), ipBlocks.get(1), remoteIpBlocks.get(0),
          remoteIpBlocks.get(1), serviceAccounts.get(0), serviceAccounts.get(1));
      if (!s.isEmpty()) {
        return s;
      }
    }
  }

  private static Operation operation(Random r) {
    while (true) {
      var hosts = field(r, HOSTS);
      var ports = field(r, PORTS);
      var methods = field(r, METHODS);
      var paths = field(r, PATHS);
      Operation o = new Operation(hosts.get(0), hosts.get(1), ports.get(0), ports.get(1), methods.get(0),
          methods.get(1), paths.get(0), paths.get(1));
      if (!o.isEmpty()) {
        return o;
      }
    }
  }

  private static Condition condition(Random r) {
    String key = pick(r, CONDITION_KEYS);
    List<String> vocabulary = switch (key) {
      case "source.ip", "remote.ip", "destination.ip" -> CIDRS;
      case "destination.port" -> PORTS;
      case "connection.sni" -> SNI_VALUES;
      case "source.namespace" -> NAMESPACES;
      case "source.principal" -> PRINCIPALS;
      case "source.serviceAccount" -> SERVICE_ACCOUNTS;
      case "request.auth.principal" -> REQUEST_PRINCIPALS;
      case "request.headers[X-A]" -> HEADER_VALUES;
      default -> CLAIM_VALUES;
    };
    List<String> values = some(r, vocabulary, 2);
    List<String> notValues = r.nextInt(3) == 0 ? some(r, vocabulary, 2) : List.of();
    if (values.isEmpty() && notValues.isEmpty()) {
      values = List.of(pick(r, vocabulary));
    }
    return Condition.of(key, values, notValues);
  }

  // --- requests ---

  static RequestAttributes request(Random r) {
    Fixtures.RequestBuilder b = r.nextInt(4) == 0
        ? Fixtures.tcp()
        : Fixtures.http(pick(r, List.of("GET", "POST", "PUT")),
            pick(r, List.of("example.com", "api.example.com", "example.com:8080", "Example.COM", "other")),
            pick(r, List.of("/admin", "/admin/x?q=1", "/app.js", "/api/v1/x", "/api/", "/other#f", "/api/v1/y/x")));
    switch (r.nextInt(4)) {
      case 0 -> b.workload("foo", "app", "a");
      case 1 -> b.workload("foo");
      case 2 -> b.workload("bar", "app", "b", Workload.GATEWAY_NAME_LABEL, "gw");
      default -> b.workload("istio-system", "app", "a");
    }
    b.principal(pick(r, Collections.unmodifiableList(java.util.Arrays.asList(null, "spiffe://cluster.local/ns/web/sa/a",
        "spiffe://td2/ns/api/sa/b", "spiffe://other/ns/web/sa/b", "spiffe://td1/ns/web/sa/a",
        "spiffe://cluster.local/ns/api/sa/a", "spiffe://cluster.local/ns/webx/sa/b", "spiffe://td2/ns/api"))));
    b.sourceIp(pick(r, Collections.unmodifiableList(java.util.Arrays.asList("10.1.2.3", "10.2.0.1", "192.0.2.1", null,
        "2001:db8::5"))));
    b.remoteIp(pick(r, List.of("10.1.2.3", "192.0.2.1", "203.0.113.9", "2001:db8::9")));
    b.destinationIp(pick(r, List.of("10.1.0.7", "192.0.2.1")));
    b.port(pick(r, List.of(80, 8080, 9090)));
    b.sni(pick(r, Collections.unmodifiableList(java.util.Arrays.asList(null, "a.example.com", "b.example.com"))));
    if (r.nextBoolean()) {
      b.header("x-a", pick(r, List.of("1", "2x", "", "x")));
    }
    b.jwt(pick(r, Collections.unmodifiableList(java.util.Arrays.asList((Struct) null,
        Fixtures.claims("iss", "iss1", "sub", "alice", "groups", List.of("admins", "users"), "scope", "read write",
            "aud", "api", "azp", "cli", "org", Map.of("team", "security")),
        Fixtures.claims("iss", "x", "sub", "bob", "groups", "admins", "aud", List.of("api", "web"), "org", "security"),
        Fixtures.claims("iss", "iss1", "groups", List.of(1, "adm"), "scope", "write")))));
    return b.build();
  }
}

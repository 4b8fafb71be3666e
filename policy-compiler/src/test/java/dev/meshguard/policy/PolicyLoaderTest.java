package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.JwtRule.ClaimToHeader;
import dev.meshguard.policy.model.JwtRule.JwtHeader;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Valid inputs: every field of the Istio API lands in the model as written; the envelope
 * (namespace default, dry-run, List, multi-document, JSON, skipped kinds); warnings; revisions.
 */
class PolicyLoaderTest {

  private static PolicySet parse(String yaml) throws ConfigException {
    return PolicyLoader.parse("p.yaml", yaml);
  }

  private static AuthorizationPolicy onlyPolicy(String yaml) throws ConfigException {
    PolicySet set = parse(yaml);
    assertThat(set.authorizationPolicies()).hasSize(1);
    return set.authorizationPolicies().get(0);
  }

  private static Source source(Map<String, List<String>> fields) {
    return new Source(fields.getOrDefault("principals", List.of()), fields.getOrDefault("notPrincipals", List.of()),
        fields.getOrDefault("requestPrincipals", List.of()), fields.getOrDefault("notRequestPrincipals", List.of()),
        fields.getOrDefault("namespaces", List.of()), fields.getOrDefault("notNamespaces", List.of()),
        fields.getOrDefault("ipBlocks", List.of()), fields.getOrDefault("notIpBlocks", List.of()),
        fields.getOrDefault("remoteIpBlocks", List.of()), fields.getOrDefault("notRemoteIpBlocks", List.of()),
        fields.getOrDefault("serviceAccounts", List.of()), fields.getOrDefault("notServiceAccounts", List.of()));
  }

  private static final String FULL_POLICY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: full
        namespace: prod
        annotations:
          istio.io/dry-run: "false"
          owner: team-a
        labels:
          app: web
      spec:
        selector:
          matchLabels:
            app: web
            version: v1
        action: DENY
        rules:
        - from:
          - source:
              principals: ["cluster.local/ns/a/sa/b", "*-suffix"]
              notPrincipals: ["prefix-*"]
              requestPrincipals: ["https://issuer/sub"]
              notRequestPrincipals: ["*"]
              namespaces: ["a"]
              notNamespaces: ["b"]
              ipBlocks: ["10.0.0.0/8", "2001:db8::/32"]
              notIpBlocks: ["10.1.2.3"]
              remoteIpBlocks: ["203.0.113.0/24"]
              notRemoteIpBlocks: ["203.0.113.7"]
          - source:
              serviceAccounts: ["ns/sa", "local-sa"]
              notServiceAccounts: ["ns/other"]
          to:
          - operation:
              hosts: ["example.com", "*.example.com"]
              notHosts: ["admin.example.com"]
              ports: ["8080", "0080"]
              notPorts: ["9090"]
              methods: ["GET", "HEAD"]
              notMethods: ["DELETE"]
              paths: ["/api/*", "/store/{**}/cart", "/x/{*}"]
              notPaths: ["/api/admin*"]
          when:
          - key: request.headers[x-token]
            values: ["abc", "def*"]
            notValues: ["bad"]
          - key: source.ip
            values: ["10.0.0.0/8"]
          - key: remote.ip
            notValues: ["1.2.3.4"]
          - key: source.namespace
            values: ["a"]
          - key: source.principal
            values: ["cluster.local/ns/a/sa/b"]
          - key: source.serviceAccount
            values: ["a/b"]
          - key: request.auth.principal
            values: ["iss/sub"]
          - key: request.auth.audiences
            values: ["aud"]
          - key: request.auth.presenter
            values: ["azp"]
          - key: request.auth.claims[groups]
            values: ["admin"]
          - key: request.auth.claims[a][b]
            values: ["nested"]
          - key: destination.ip
            values: ["10.0.0.1"]
          - key: destination.port
            values: ["443"]
          - key: connection.sni
            values: ["www.example.com"]
          - key: experimental.envoy.filters.network.mysql_proxy[db.table]
            values: ["[update]"]
        - {}
      """;

  @Test
  void everyFieldOfAnAuthorizationPolicyIsInTheModel() throws Exception {
    AuthorizationPolicy policy = onlyPolicy(FULL_POLICY);
    Rule first = new Rule(
        List.of(
            new Source(List.of("cluster.local/ns/a/sa/b", "*-suffix"), List.of("prefix-*"),
                List.of("https://issuer/sub"), List.of("*"), List.of("a"), List.of("b"),
                List.of("10.0.0.0/8", "2001:db8::/32"), List.of("10.1.2.3"), List.of("203.0.113.0/24"),
                List.of("203.0.113.7"), List.of(), List.of()),
            source(Map.of("serviceAccounts", List.of("ns/sa", "local-sa"), "notServiceAccounts", List.of("ns/other")))),
        List.of(new Operation(List.of("example.com", "*.example.com"), List.of("admin.example.com"),
            List.of("8080", "0080"), List.of("9090"), List.of("GET", "HEAD"), List.of("DELETE"),
            List.of("/api/*", "/store/{**}/cart", "/x/{*}"), List.of("/api/admin*"))),
        List.of(
            Condition.of("request.headers[x-token]", List.of("abc", "def*"), List.of("bad")),
            Condition.of("source.ip", List.of("10.0.0.0/8"), List.of()),
            Condition.of("remote.ip", List.of(), List.of("1.2.3.4")),
            Condition.of("source.namespace", List.of("a"), List.of()),
            Condition.of("source.principal", List.of("cluster.local/ns/a/sa/b"), List.of()),
            Condition.of("source.serviceAccount", List.of("a/b"), List.of()),
            Condition.of("request.auth.principal", List.of("iss/sub"), List.of()),
            Condition.of("request.auth.audiences", List.of("aud"), List.of()),
            Condition.of("request.auth.presenter", List.of("azp"), List.of()),
            Condition.of("request.auth.claims[groups]", List.of("admin"), List.of()),
            Condition.of("request.auth.claims[a][b]", List.of("nested"), List.of()),
            Condition.of("destination.ip", List.of("10.0.0.1"), List.of()),
            Condition.of("destination.port", List.of("443"), List.of()),
            Condition.of("connection.sni", List.of("www.example.com"), List.of()),
            Condition.of("experimental.envoy.filters.network.mysql_proxy[db.table]", List.of("[update]"), List.of())),
        new Position("p.yaml", 18, 5));
    Rule matchAll = new Rule(List.of(), List.of(), List.of(), new Position("p.yaml", 75, 5));
    assertThat(policy).isEqualTo(new AuthorizationPolicy(AuthorizationPolicy.ISTIO_V1, "prod", "full",
        Map.of("istio.io/dry-run", "false", "owner", "team-a"), false, Map.of("app", "web", "version", "v1"),
        List.of(), Action.DENY, null, List.of(first, matchAll), new Position("p.yaml", 1, 1)));
  }

  @Test
  void targetRefAndTargetRefsAreRecorded() throws Exception {
    PolicySet set = parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: one, namespace: foo}
        spec:
          targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
          rules: [{}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: many, namespace: foo}
        spec:
          targetRefs:
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: ""}
          - {kind: Service, name: svc}
          - {group: "", kind: Service, name: svc2}
          - {group: networking.istio.io, kind: ServiceEntry, name: se}
          - {group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}
          rules: [{}]
        """);
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::name, AuthorizationPolicy::targetRefs)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("many", List.of(
                new TargetRef("gateway.networking.k8s.io", "Gateway", "gw", ""),
                new TargetRef("", "Service", "svc", ""),
                new TargetRef("", "Service", "svc2", ""),
                new TargetRef("networking.istio.io", "ServiceEntry", "se", ""),
                new TargetRef("gateway.networking.k8s.io", "GatewayClass", "istio-waypoint", ""))),
            org.assertj.core.groups.Tuple.tuple("one", List.of(
                new TargetRef("gateway.networking.k8s.io", "Gateway", "gw", ""))));
  }

  @Test
  void customActionCarriesItsProvider() throws Exception {
    AuthorizationPolicy policy = onlyPolicy("""
        apiVersion: security.istio.io/v1beta1
        kind: AuthorizationPolicy
        metadata: {name: ext-authz, namespace: istio-system}
        spec:
          selector:
            matchLabels: {app: istio-ingressgateway}
          action: CUSTOM
          provider:
            name: my-custom-authz
          rules:
          - to:
            - operation:
                paths: ["/admin/*"]
        """);
    assertThat(policy.action()).isEqualTo(Action.CUSTOM);
    assertThat(policy.provider()).isEqualTo("my-custom-authz");
    assertThat(policy.apiVersion()).isEqualTo(AuthorizationPolicy.ISTIO_V1BETA1);
  }

  @ParameterizedTest
  @CsvSource({"ALLOW", "DENY", "AUDIT"})
  void actionsAreRead(Action action) throws Exception {
    AuthorizationPolicy policy = onlyPolicy("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: foo}
        spec:
          action: %s
          rules: [{}]
        """.formatted(action));
    assertThat(policy.action()).isEqualTo(action);
    assertThat(policy.provider()).isNull();
  }

  @Test
  void anEmptyOrAbsentSpecIsAnAllowPolicyWithoutRules() throws Exception {
    PolicySet set = parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: a, namespace: foo}
        spec: {}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: b, namespace: foo}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: c, namespace: foo}
        spec:
          rules: []
        """);
    assertThat(set.authorizationPolicies()).allSatisfy(p -> {
      assertThat(p.action()).isEqualTo(Action.ALLOW);
      assertThat(p.rules()).isEmpty();
      assertThat(p.selector()).isEmpty();
    });
  }

  @Test
  void nullFieldsAreAbsentAsTheApiServerPrunesThem() throws Exception {
    AuthorizationPolicy nulls = onlyPolicy("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: foo, annotations: null}
        spec:
          selector: null
          targetRef: ~
          action:
          provider: null
          rules:
          - from: null
            to:
            - operation:
                methods: ["GET"]
                paths: null
            when: null
        """);
    assertThat(nulls.selector()).isEmpty();
    assertThat(nulls.targetRefs()).isEmpty();
    assertThat(nulls.action()).isEqualTo(Action.ALLOW);
    assertThat(nulls.provider()).isNull();
    assertThat(nulls.rules()).singleElement().satisfies(rule -> {
      assertThat(rule.from()).isEmpty();
      assertThat(rule.when()).isEmpty();
      assertThat(rule.to()).singleElement().extracting(Operation::methods).isEqualTo(List.of("GET"));
    });
  }

  @Test
  void metadataNamespaceDefaultsToDefault() throws Exception {
    assertThat(onlyPolicy("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p}
        """).namespace()).isEqualTo("default");
  }

  /** Go's strconv.ParseBool: 1, t, T, TRUE, true, True and 0, f, F, FALSE, false, False. */
  @ParameterizedTest
  @CsvSource({"1,true", "t,true", "T,true", "TRUE,true", "true,true", "True,true",
      "0,false", "f,false", "F,false", "FALSE,false", "false,false", "False,false"})
  void dryRunIsReadLikeGoParseBool(String value, boolean dryRun) throws Exception {
    AuthorizationPolicy policy = onlyPolicy("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: p
          annotations:
            istio.io/dry-run: "%s"
        spec:
          action: DENY
          rules: [{}]
        """.formatted(value));
    assertThat(policy.dryRun()).isEqualTo(dryRun);
  }

  @Test
  void withoutTheAnnotationAPolicyIsEnforced() throws Exception {
    assertThat(onlyPolicy("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p}
        """).dryRun()).isFalse();
  }

  @Test
  void meshguardPoliciesCarryCel() throws Exception {
    AuthorizationPolicy policy = onlyPolicy("""
        apiVersion: meshguard.dev/v1
        kind: AuthorizationPolicy
        metadata: {name: cel, namespace: foo}
        spec:
          rules:
          - when:
            - cel: 'request.path.startsWith("/api") && source.namespace == "a"'
            - key: request.headers[x-a]
              values: ["1"]
        """);
    assertThat(policy.apiVersion()).isEqualTo(AuthorizationPolicy.MESHGUARD_V1);
    List<Condition> when = policy.rules().get(0).when();
    assertThat(when).hasSize(2);
    assertThat(when.get(0).cel()).isEqualTo("request.path.startsWith(\"/api\") && source.namespace == \"a\"");
    assertThat(when.get(0).key()).isEmpty();
    // The expression's own position, so that CEL compile errors point at it.
    assertThat(when.get(0).position().line()).isEqualTo(7);
    assertThat(when.get(0).position().column()).isEqualTo(12);
    assertThat(when.get(1)).isEqualTo(Condition.of("request.headers[x-a]", List.of("1"), List.of()));
  }

  private static final String JWKS = """
      {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw", "e": "AQAB"},
                {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                {"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"}]}
      """;

  @Test
  void everyFieldOfARequestAuthenticationIsInTheModel() throws Exception {
    PolicySet set = parse("""
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: jwt, namespace: foo}
        spec:
          selector:
            matchLabels: {app: web}
          jwtRules:
          - issuer: https://issuer.example.com
            audiences: ["a", "b"]
            jwksUri: https://issuer.example.com/.well-known/jwks.json
            fromHeaders:
            - name: x-jwt-assertion
              prefix: "Bearer "
            - name: x-raw
            fromParams: ["token"]
            fromCookies: ["session"]
            outputPayloadToHeader: x-jwt-payload
            outputClaimToHeaders:
            - header: x-sub
              claim: sub
            forwardOriginalToken: true
            timeout: 5s
            spaceDelimitedClaims: ["roles"]
          - jwks_uri: http://keys.internal:8080/jwks
          - issuer: inline
            jwks: '%s'
        """.formatted(JWKS.strip().replace("\n", " ")));
    assertThat(set.requestAuthentications()).singleElement().isEqualTo(new RequestAuthentication(
        "security.istio.io/v1", "foo", "jwt", Map.of("app", "web"), List.of(), List.of(
            new JwtRule("https://issuer.example.com", List.of("a", "b"),
                "https://issuer.example.com/.well-known/jwks.json", null,
                List.of(new JwtHeader("x-jwt-assertion", "Bearer "), new JwtHeader("x-raw", "")),
                List.of("token"), List.of("session"), "x-jwt-payload", List.of(new ClaimToHeader("x-sub", "sub")),
                true, "5s", List.of("roles")),
            new JwtRule("", List.of(), "http://keys.internal:8080/jwks", null, List.of(), List.of(), List.of(), null,
                List.of(), false, null),
            new JwtRule("inline", List.of(), null, JWKS.strip().replace("\n", " "), List.of(), List.of(), List.of(),
                null, List.of(), false, null)),
        new Position("p.yaml", 1, 1)));
  }

  @Test
  void listsMultipleDocumentsAndOtherKinds() throws Exception {
    PolicySet set = parse("""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: {name: b, namespace: foo}
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: cm, namespace: foo}
        ---
        # a comment-only document, then an empty one
        ---
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: a, namespace: foo}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: vs}
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: strict, namespace: istio-system}
        spec: {mtls: {mode: STRICT}}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicyList
        items:
        - apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: {name: c, namespace: bar}
        """);
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::ref)
        .containsExactly("bar/c", "foo/a", "foo/b");
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::position).containsExactly(
        new Position("p.yaml", 30, 3), new Position("p.yaml", 14, 1), new Position("p.yaml", 4, 3));
    assertThat(set.notes()).containsExactly(
        "p.yaml:7:3: skipped ConfigMap foo/cm (v1): only AuthorizationPolicy and RequestAuthentication are read",
        "p.yaml:18:1: skipped VirtualService vs (networking.istio.io/v1): only AuthorizationPolicy and "
            + "RequestAuthentication are read",
        "p.yaml:22:1: skipped PeerAuthentication istio-system/strict (security.istio.io/v1): only "
            + "AuthorizationPolicy and RequestAuthentication are read");
  }

  @Test
  void jsonReadsLikeYaml() throws Exception {
    PolicySet json = PolicyLoader.parse("p.json", """
        {
        \t"apiVersion": "security.istio.io/v1",
        \t"kind": "AuthorizationPolicy",
        \t"metadata": {"name": "p", "namespace": "foo"},
        \t"spec": {"action": "DENY", "rules": [{"to": [{"operation": {"ports": ["8080"], "methods": ["GET"]}}]}]}
        }
        """);
    PolicySet yaml = parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: foo}
        spec:
          action: DENY
          rules:
          - to:
            - operation:
                ports: ["8080"]
                methods: ["GET"]
        """);
    assertThat(json.revision()).isEqualTo(yaml.revision());
    assertThat(json.authorizationPolicies().get(0).rules().get(0).to())
        .isEqualTo(yaml.authorizationPolicies().get(0).rules().get(0).to());
  }

  @Test
  void aJsonListIsRead() throws Exception {
    PolicySet set = PolicyLoader.parse("list.json", """
        {"apiVersion": "v1", "kind": "List", "items": [
          {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "x"}},
          {"apiVersion": "security.istio.io/v1", "kind": "RequestAuthentication", "metadata": {"name": "y"},
           "spec": {"jwtRules": [{"issuer": "iss"}]}}
        ]}
        """);
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::ref).containsExactly("default/x");
    assertThat(set.requestAuthentications()).extracting(RequestAuthentication::ref).containsExactly("default/y");
  }

  @Test
  void warningsAreTheWebhooks() throws Exception {
    PolicySet set = parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny-http-only, namespace: foo}
        spec:
          selector: {}
          action: DENY
          rules:
          - to:
            - operation: {methods: ["POST"]}
          - from:
            - source: {requestPrincipals: ["*"]}
          - to:
            - operation: {methods: ["POST"], ports: ["8080"]}
          - from:
            - source: {namespaces: ["untrusted"]}
          - when:
            - key: request.headers[x]
              values: ["1"]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: allow-http-only, namespace: foo}
        spec:
          selector:
            matchLabels: {}
          rules:
          - to:
            - operation: {methods: ["POST"]}
        """);
    assertThat(set.warnings()).containsExactly(
        new ConfigError("p.yaml", 5, 13, "spec.selector", "workload selector specified without labels"),
        new ConfigError("p.yaml", 8, 5, "spec.rules[0]", AuthorizationPolicyReader.DENY_TCP_WARNING),
        new ConfigError("p.yaml", 10, 5, "spec.rules[1]", AuthorizationPolicyReader.DENY_TCP_WARNING),
        new ConfigError("p.yaml", 25, 5, "spec.selector", "workload selector specified without labels"));
  }

  @Test
  void policiesAreSortedByNamespaceThenName() throws Exception {
    PolicySet set = parse("""
        {apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: b, namespace: z}}
        ---
        {apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: a, namespace: z}}
        ---
        {apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: c, namespace: a}}
        ---
        {apiVersion: security.istio.io/v1, kind: RequestAuthentication, metadata: {name: r2, namespace: b}}
        ---
        {apiVersion: security.istio.io/v1, kind: RequestAuthentication, metadata: {name: r1, namespace: b}}
        """);
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::ref).containsExactly("a/c", "z/a", "z/b");
    assertThat(set.requestAuthentications()).extracting(RequestAuthentication::ref).containsExactly("b/r1", "b/r2");
  }

  @Test
  void equalPoliciesInAnyOrderAndLayoutHaveEqualRevisions() throws Exception {
    String a = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: a, namespace: foo}
        spec:
          rules:
          - from:
            - source: {namespaces: ["x"]}
        """;
    String b = """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: b, namespace: foo}
        spec:
          jwtRules: [{issuer: iss}]
        """;
    String c = """
        # written differently: flow style, comments, other key order, a List
        kind: List
        apiVersion: v1
        items:
        - {kind: AuthorizationPolicy, apiVersion: security.istio.io/v1, spec: {rules: [{from: [{source: {namespaces: [x]}}]}]},
           metadata: {namespace: foo, name: a}}
        """;
    String ab = parse(a + "---\n" + b).revision();
    assertThat(parse(b + "---\n" + a).revision()).isEqualTo(ab);
    assertThat(parse(b + "---\n" + c).revision()).isEqualTo(ab);
    assertThat(ab).matches("[0-9a-f]{64}");
    assertThat(parse(a.replace("[\"x\"]", "[\"y\"]") + "---\n" + b).revision()).isNotEqualTo(ab);
    assertThat(parse(a).revision()).isNotEqualTo(ab);
  }

  @Test
  void theRevisionOfNothingIsStable() throws Exception {
    assertThat(parse("").revision()).isEqualTo(parse("# nothing\n---\n").revision());
    assertThat(parse("").authorizationPolicies()).isEmpty();
  }

  /** The CRD's maxItems: 512 rules, 512 from entries per rule. */
  @Test
  void crdListLimitsAreEnforced() throws Exception {
    String head = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: big}
        spec:
          rules:
        """;
    String rule = "  - to: [{operation: {methods: [GET]}}]\n";
    assertThat(parse(head + rule.repeat(512)).authorizationPolicies().get(0).rules()).hasSize(512);
    assertThat(catchThrowableOfType(ConfigException.class, () -> parse(head + rule.repeat(513))).errors())
        .extracting(ConfigError::render).containsExactly("p.yaml:6:3: spec.rules: must have at most 512 items, found 513");

    String from = "    - source: {namespaces: [a]}\n";
    assertThat(parse(head + "  - from:\n" + from.repeat(512)).authorizationPolicies().get(0).rules().get(0).from())
        .hasSize(512);
    assertThat(catchThrowableOfType(ConfigException.class, () -> parse(head + "  - from:\n" + from.repeat(513)))
        .errors()).extracting(ConfigError::render)
        .containsExactly("p.yaml:7:5: spec.rules[0].from: must have at most 512 items, found 513");
  }

  @Test
  void aSetWithAnErrorIsNotReturnedInPart() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: good, namespace: foo}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: bad, namespace: foo}
        spec:
          action: DENY
        """));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly("p.yaml:9:3: spec.action: DENY action "
        + "without rules is meaningless as it will never be triggered; add an empty rule {} if you want it triggered "
        + "for every request");
  }
}

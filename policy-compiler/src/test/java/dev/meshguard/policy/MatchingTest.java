package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.claims;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.http;
import static dev.meshguard.policy.Fixtures.mesh;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static dev.meshguard.policy.Fixtures.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.Fixtures.RequestBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every field, condition key and match form, each with a request that matches and one that does
 * not. Facts from istio/istio pilot/pkg/security/authz/model/generator.go and matcher/*.go, and
 * the Envoy matchers they generate (see /work/shared/reference/istio-authz-semantics.md §3-§7).
 */
class MatchingTest {

  /** An engine with one ALLOW policy of one rule: allowed means the rule matched. */
  private static PolicyEngine allowOnly(Fixtures.RuleBuilder r) {
    return engine(allow("foo", "p").rule(r));
  }

  private static boolean allowed(PolicyEngine e, RequestBuilder r) {
    return e.evaluate(r.build(), null).allowed();
  }

  private static RequestBuilder get(String path) {
    return http("GET", "example.com", path);
  }

  @Test
  void principalsExactPrefixSuffixAndPresence() {
    var exact = allowOnly(rule().from(source().principals("cluster.local/ns/web/sa/frontend")));
    assertThat(allowed(exact, get("/").from("web", "frontend"))).isTrue();
    assertThat(allowed(exact, get("/").from("web", "frontend2"))).isFalse();

    var prefix = allowOnly(rule().from(source().principals("cluster.local/ns/web/*")));
    assertThat(allowed(prefix, get("/").from("web", "anything"))).isTrue();
    assertThat(allowed(prefix, get("/").from("webx", "a"))).isFalse();

    var suffix = allowOnly(rule().from(source().principals("*/sa/frontend")));
    assertThat(allowed(suffix, get("/").principal("spiffe://other.td/ns/x/sa/frontend"))).isTrue();
    assertThat(allowed(suffix, get("/").from("web", "backend"))).isFalse();

    // "*" is the regex .+: any authenticated peer, never plaintext.
    var any = allowOnly(rule().from(source().principals("*")));
    assertThat(allowed(any, get("/").from("web", "x"))).isTrue();
    assertThat(allowed(any, get("/"))).isFalse();
  }

  @Test
  void notPrincipalsAndNotNamespacesMatchPlaintext() {
    var notPrincipals = allowOnly(rule().from(source().notPrincipals("cluster.local/ns/web/sa/frontend")));
    assertThat(allowed(notPrincipals, get("/"))).isTrue();
    assertThat(allowed(notPrincipals, get("/").from("web", "frontend"))).isFalse();
    var notNamespaces = allowOnly(rule().from(source().notNamespaces("web")));
    assertThat(allowed(notNamespaces, get("/"))).isTrue();
    assertThat(allowed(notNamespaces, get("/").from("web", "frontend"))).isFalse();
    assertThat(allowed(notNamespaces, get("/").from("api", "frontend"))).isTrue();
  }

  @Test
  void principalsCoverTheTrustDomainAndItsAliases() {
    var mesh = mesh("td1", List.of("td2"));
    var local = engine(mesh, allow("foo", "p").rule(rule().from(source().principals("cluster.local/ns/web/sa/a"))));
    assertThat(allowed(local, get("/").principal("spiffe://td1/ns/web/sa/a"))).isTrue();
    assertThat(allowed(local, get("/").principal("spiffe://td2/ns/web/sa/a"))).isTrue();
    // cluster.local in a policy means "the local trust domain", and is replaced by it.
    assertThat(allowed(local, get("/").principal("spiffe://cluster.local/ns/web/sa/a"))).isFalse();

    var alias = engine(mesh, allow("foo", "p").rule(rule().from(source().principals("td2/ns/web/sa/a"))));
    assertThat(allowed(alias, get("/").principal("spiffe://td1/ns/web/sa/a"))).isTrue();

    var foreign = engine(mesh, allow("foo", "p").rule(rule().from(source().principals("other/ns/web/sa/a"))));
    assertThat(allowed(foreign, get("/").principal("spiffe://other/ns/web/sa/a"))).isTrue();
    assertThat(allowed(foreign, get("/").principal("spiffe://td1/ns/web/sa/a"))).isFalse();

    var anyDomain = engine(mesh, allow("foo", "p").rule(rule().from(source().principals("*/ns/web/sa/a"))));
    assertThat(allowed(anyDomain, get("/").principal("spiffe://elsewhere/ns/web/sa/a"))).isTrue();

    // Not five parts: Istio keeps the principal as written.
    var short4 = engine(mesh, allow("foo", "p").rule(rule().from(source().principals("cluster.local/ns/web/*"))));
    assertThat(allowed(short4, get("/").principal("spiffe://cluster.local/ns/web/sa/a"))).isTrue();
    assertThat(allowed(short4, get("/").principal("spiffe://td1/ns/web/sa/a"))).isFalse();

    var notPrincipal = engine(mesh, allow("foo", "p").rule(rule().from(source().notPrincipals("cluster.local/ns/web/sa/a"))));
    assertThat(allowed(notPrincipal, get("/").principal("spiffe://td2/ns/web/sa/a"))).isFalse();
  }

  @Test
  void namespacesComeFromThePrincipalAndStarIsAWildcardAnywhere() {
    var exact = allowOnly(rule().from(source().namespaces("bar")));
    assertThat(allowed(exact, get("/").from("bar", "x"))).isTrue();
    assertThat(allowed(exact, get("/").from("barista", "x"))).isFalse();
    assertThat(allowed(exact, get("/").principal("spiffe://td/ns/bar"))).isFalse(); // needs "/ns/bar/"

    var prefix = allowOnly(rule().from(source().namespaces("ba*")));
    assertThat(allowed(prefix, get("/").from("barista", "x"))).isTrue();
    var middle = allowOnly(rule().from(source().namespaces("f*o")));
    assertThat(allowed(middle, get("/").from("fizzo", "x"))).isTrue();
    assertThat(allowed(middle, get("/").from("fizz", "x"))).isFalse();
    var any = allowOnly(rule().from(source().namespaces("*")));
    assertThat(allowed(any, get("/").from("anything", "x"))).isTrue();
    assertThat(allowed(any, get("/"))).isFalse();
  }

  @Test
  void serviceAccountsNameNamespaceAndAccountInAnyTrustDomain() {
    var qualified = allowOnly(rule().from(source().serviceAccounts("web/frontend")));
    assertThat(allowed(qualified, get("/").principal("spiffe://any.td/ns/web/sa/frontend"))).isTrue();
    assertThat(allowed(qualified, get("/").principal("spiffe://any.td/ns/web/sa/frontend-2"))).isFalse();
    assertThat(allowed(qualified, get("/").principal("spiffe://any.td/ns/web/sa/frontend/extra"))).isTrue();
    // A bare account name means the policy's own namespace (foo).
    var bare = allowOnly(rule().from(source().serviceAccounts("frontend")));
    assertThat(allowed(bare, get("/").from("foo", "frontend"))).isTrue();
    assertThat(allowed(bare, get("/").from("web", "frontend"))).isFalse();
    var notSa = allowOnly(rule().from(source().notServiceAccounts("web/frontend")));
    assertThat(allowed(notSa, get("/"))).isTrue();
  }

  @Test
  void requestPrincipalsSplitAtTheLastSlash() {
    var exact = allowOnly(rule().from(source().requestPrincipals("https://issuer.example.com/a/alice")));
    assertThat(allowed(exact, get("/").jwt(claims("iss", "https://issuer.example.com/a", "sub", "alice")))).isTrue();
    assertThat(allowed(exact, get("/").jwt(claims("iss", "https://issuer.example.com", "sub", "a/alice")))).isFalse();

    var any = allowOnly(rule().from(source().requestPrincipals("*")));
    assertThat(allowed(any, get("/").jwt(claims("iss", "i", "sub", "s")))).isTrue();
    assertThat(allowed(any, get("/").jwt(claims("iss", "i")))).isFalse();
    assertThat(allowed(any, get("/"))).isFalse();

    var anySubject = allowOnly(rule().from(source().requestPrincipals("https://issuer/*")));
    assertThat(allowed(anySubject, get("/").jwt(claims("iss", "https://issuer", "sub", "bob")))).isTrue();
    assertThat(allowed(anySubject, get("/").jwt(claims("iss", "https://other", "sub", "bob")))).isFalse();

    var anyIssuer = allowOnly(rule().from(source().requestPrincipals("*/bob")));
    assertThat(allowed(anyIssuer, get("/").jwt(claims("iss", "x", "sub", "bob")))).isTrue();
    assertThat(allowed(anyIssuer, get("/").jwt(claims("iss", "x", "sub", "bobby")))).isFalse();

    var notRequest = allowOnly(rule().from(source().notRequestPrincipals("*")));
    assertThat(allowed(notRequest, get("/"))).isTrue();
    assertThat(allowed(notRequest, get("/").jwt(claims("iss", "i", "sub", "s")))).isFalse();
  }

  @Test
  void hostsAreCaseInsensitiveAndThePortIsNotStripped() {
    var host = allowOnly(rule().to(op().hosts("Example.COM")));
    assertThat(allowed(host, http("GET", "example.com", "/"))).isTrue();
    assertThat(allowed(host, http("GET", "example.com:8080", "/"))).isFalse();
    var withPort = allowOnly(rule().to(op().hosts("example.com:*")));
    assertThat(allowed(withPort, http("GET", "EXAMPLE.com:8080", "/"))).isTrue();
    var suffix = allowOnly(rule().to(op().hosts("*.example.com")));
    assertThat(allowed(suffix, http("GET", "API.Example.com", "/"))).isTrue();
    assertThat(allowed(suffix, http("GET", "example.com", "/"))).isFalse();
    var notHosts = allowOnly(rule().to(op().notHosts("example.com")));
    assertThat(allowed(notHosts, http("GET", "other.com", "/"))).isTrue();
    assertThat(allowed(notHosts, http("GET", "EXAMPLE.COM", "/"))).isFalse();
  }

  @Test
  void methodsAreCaseSensitive() {
    var methods = allowOnly(rule().to(op().methods("GET", "HEAD")));
    assertThat(allowed(methods, http("HEAD", "h", "/"))).isTrue();
    assertThat(allowed(methods, http("get", "h", "/"))).isFalse();
    var notMethods = allowOnly(rule().to(op().notMethods("DELETE")));
    assertThat(allowed(notMethods, http("GET", "h", "/"))).isTrue();
    assertThat(allowed(notMethods, http("DELETE", "h", "/"))).isFalse();
  }

  @Test
  void pathsAreMatchedWithoutQueryOrFragmentAndCaseSensitively() {
    var exact = allowOnly(rule().to(op().paths("/admin")));
    assertThat(allowed(exact, get("/admin?user=root"))).isTrue();
    assertThat(allowed(exact, get("/admin#top"))).isTrue();
    assertThat(allowed(exact, get("/ADMIN"))).isFalse();
    assertThat(allowed(exact, get("/admin/"))).isFalse();
    var prefix = allowOnly(rule().to(op().paths("/api/*")));
    assertThat(allowed(prefix, get("/api/v1?x"))).isTrue();
    assertThat(allowed(prefix, get("/api"))).isFalse();
    var suffix = allowOnly(rule().to(op().paths("*.js")));
    assertThat(allowed(suffix, get("/static/app.js?v=2"))).isTrue();
    assertThat(allowed(suffix, get("/static/app.jsx"))).isFalse();
    var notPaths = allowOnly(rule().to(op().notPaths("/admin*")));
    assertThat(allowed(notPaths, get("/x"))).isTrue();
    assertThat(allowed(notPaths, get("/admin/x"))).isFalse();
  }

  @Test
  void pathTemplatesAsIstiosIntegrationTestsUseThem() {
    // tests/integration/security/authz_test.go, PathTemplating.
    var admin = allowOnly(rule().to(op().paths("/allow/admin/{**}")));
    assertThat(allowed(admin, get("/allow/admin/"))).isTrue();
    assertThat(allowed(admin, get("/allow/admin/a/b.txt"))).isTrue();
    assertThat(allowed(admin, get("/allow/admin"))).isFalse();
    var cart = allowOnly(rule().to(op().paths("/store/{**}/cart")));
    assertThat(allowed(cart, get("/store//cart"))).isTrue();
    assertThat(allowed(cart, get("/store/a/b/cart?q=1"))).isTrue();
    assertThat(allowed(cart, get("/store/cart"))).isFalse();
    var segments = allowOnly(rule().to(op().paths("/foo/{*}/bar/{**}")));
    assertThat(allowed(segments, get("/foo/x/bar/y/z"))).isTrue();
    assertThat(allowed(segments, get("/foo//bar/x"))).isFalse();
    assertThat(allowed(segments, get("/foo/x/y/bar/z"))).isFalse();
  }

  @Test
  void portsAndNotPorts() {
    var ports = allowOnly(rule().to(op().ports("8080", "9090")));
    assertThat(allowed(ports, get("/").port(9090))).isTrue();
    assertThat(allowed(ports, get("/").port(80))).isFalse();
    var notPorts = allowOnly(rule().to(op().notPorts("8080")));
    assertThat(allowed(notPorts, get("/").port(80))).isTrue();
    assertThat(allowed(notPorts, get("/").port(8080))).isFalse();
    var leadingZero = allowOnly(rule().to(op().ports("080")));
    assertThat(allowed(leadingZero, get("/").port(80))).isTrue(); // strconv.ParseUint accepts it
  }

  @Test
  void ipBlocksAreTheDirectPeerAndRemoteIpBlocksTheOriginalClient() {
    var ipBlocks = allowOnly(rule().from(source().ipBlocks("10.1.0.0/16", "2001:db8::/32")));
    assertThat(allowed(ipBlocks, get("/").sourceIp("10.1.200.3").remoteIp("192.0.2.1"))).isTrue();
    assertThat(allowed(ipBlocks, get("/").sourceIp("2001:db8::7"))).isTrue();
    assertThat(allowed(ipBlocks, get("/").sourceIp("10.2.0.1").remoteIp("10.1.0.1"))).isFalse();
    assertThat(allowed(ipBlocks, get("/").sourceIp(null))).isFalse();

    var remote = allowOnly(rule().from(source().remoteIpBlocks("192.0.2.1")));
    assertThat(allowed(remote, get("/").sourceIp("10.1.2.3").remoteIp("192.0.2.1"))).isTrue();
    assertThat(allowed(remote, get("/").sourceIp("192.0.2.1").remoteIp("192.0.2.2"))).isFalse();

    var notIp = allowOnly(rule().from(source().notIpBlocks("10.0.0.0/8")));
    assertThat(allowed(notIp, get("/").sourceIp("11.0.0.1"))).isTrue();
    assertThat(allowed(notIp, get("/").sourceIp("10.0.0.1"))).isFalse();
    var notRemote = allowOnly(rule().from(source().notRemoteIpBlocks("10.0.0.0/8")));
    assertThat(allowed(notRemote, get("/").remoteIp("192.0.2.1"))).isTrue();
    // An IPv4 range never matches an IPv6 address.
    assertThat(allowed(allowOnly(rule().from(source().ipBlocks("0.0.0.0/0"))), get("/").sourceIp("::1"))).isFalse();
  }

  @Test
  void headerNamesIgnoreCaseValuesDoNotAndStarMeansPresent() {
    var header = allowOnly(rule().when("request.headers[X-Token]", "secret", "pre*", "*fix"));
    assertThat(allowed(header, get("/").header("x-token", "secret"))).isTrue();
    assertThat(allowed(header, get("/").header("x-token", "prefixed"))).isTrue();
    assertThat(allowed(header, get("/").header("x-token", "a-suffix"))).isTrue();
    assertThat(allowed(header, get("/").header("x-token", "SECRET"))).isFalse();
    assertThat(allowed(header, get("/"))).isFalse();

    var present = allowOnly(rule().when("request.headers[x-token]", "*"));
    assertThat(allowed(present, get("/").header("x-token", ""))).isTrue();
    assertThat(allowed(present, get("/"))).isFalse();

    var notValues = allowOnly(rule().whenNot("request.headers[x-token]", "bad"));
    assertThat(allowed(notValues, get("/"))).isTrue();
    assertThat(allowed(notValues, get("/").header("x-token", "bad"))).isFalse();
    // Repeated headers arrive joined with ",": the joined value is what is matched.
    assertThat(allowed(notValues, get("/").header("x-token", "bad,good"))).isTrue();
  }

  @Test
  void claimsNestedListsAndSpaceDelimitedScopes() {
    var nested = allowOnly(rule().when("request.auth.claims[org][team]", "security"));
    assertThat(allowed(nested, get("/").jwt(claims("org", Map.of("team", "security"))))).isTrue();
    assertThat(allowed(nested, get("/").jwt(claims("org", Map.of("team", "sales"))))).isFalse();
    assertThat(allowed(nested, get("/").jwt(claims("org", "security")))).isFalse();

    var list = allowOnly(rule().when("request.auth.claims[groups]", "admins"));
    assertThat(allowed(list, get("/").jwt(claims("groups", List.of("users", "admins"))))).isTrue();
    assertThat(allowed(list, get("/").jwt(claims("groups", List.of("users"))))).isFalse();
    assertThat(allowed(list, get("/").jwt(claims("groups", "admins")))).isTrue();

    var number = allowOnly(rule().when("request.auth.claims[level]", "3"));
    assertThat(allowed(number, get("/").jwt(claims("level", 3)))).isFalse();

    var scope = allowOnly(rule().when("request.auth.claims[scope]", "write"));
    assertThat(allowed(scope, get("/").jwt(claims("scope", "read write")))).isTrue();
    assertThat(allowed(scope, get("/").jwt(claims("scope", "read writer")))).isFalse();
    var fullScope = allowOnly(rule().when("request.auth.claims[scope]", "read write"));
    assertThat(allowed(fullScope, get("/").jwt(claims("scope", "read write")))).isFalse();

    var notClaim = allowOnly(rule().whenNot("request.auth.claims[groups]", "banned"));
    assertThat(allowed(notClaim, get("/"))).isTrue();
    assertThat(allowed(notClaim, get("/").jwt(claims("groups", List.of("banned"))))).isFalse();
  }

  @Test
  void audiencesAndPresenter() {
    var aud = allowOnly(rule().when("request.auth.audiences", "api*"));
    assertThat(allowed(aud, get("/").jwt(claims("aud", List.of("web", "api.example.com"))))).isTrue();
    assertThat(allowed(aud, get("/").jwt(claims("aud", "web")))).isFalse();
    var azp = allowOnly(rule().when("request.auth.presenter", "cli"));
    assertThat(allowed(azp, get("/").jwt(claims("azp", "cli")))).isTrue();
    assertThat(allowed(azp, get("/").jwt(claims("azp", "web")))).isFalse();
    var principalKey = allowOnly(rule().when("request.auth.principal", "iss/sub"));
    assertThat(allowed(principalKey, get("/").jwt(claims("iss", "iss", "sub", "sub")))).isTrue();
  }

  @Test
  void connectionConditionKeys() {
    assertThat(allowed(allowOnly(rule().when("source.ip", "10.1.0.0/16")), get("/").sourceIp("10.1.9.9"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("remote.ip", "192.0.2.0/24")), get("/").remoteIp("192.0.2.9"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("remote.ip", "192.0.2.0/24")), get("/").remoteIp("192.0.3.9"))).isFalse();
    assertThat(allowed(allowOnly(rule().when("destination.ip", "10.9.9.9")), get("/"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("destination.ip", "10.9.9.8")), get("/"))).isFalse();
    assertThat(allowed(allowOnly(rule().when("destination.port", "8080")), get("/"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("destination.port", "8081")), get("/"))).isFalse();
    assertThat(allowed(allowOnly(rule().when("source.namespace", "web")), get("/").from("web", "a"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("source.namespace", "web")), get("/").from("api", "a"))).isFalse();
    assertThat(allowed(allowOnly(rule().when("source.principal", "cluster.local/ns/web/sa/a")), get("/").from("web", "a")))
        .isTrue();
    assertThat(allowed(allowOnly(rule().when("source.principal", "cluster.local/ns/web/sa/a")), get("/").from("web", "b")))
        .isFalse();
    assertThat(allowed(allowOnly(rule().when("source.serviceAccount", "web/a")), get("/").from("web", "a"))).isTrue();
    assertThat(allowed(allowOnly(rule().when("source.serviceAccount", "web/a")), get("/").from("web", "b"))).isFalse();
    var sni = allowOnly(rule().when("connection.sni", "*.example.com"));
    assertThat(allowed(sni, get("/").sni("api.example.com"))).isTrue();
    assertThat(allowed(sni, get("/"))).isFalse();
    assertThat(allowed(allowOnly(rule().whenNot("connection.sni", "*")), get("/"))).isTrue();
  }

  @Test
  void experimentalEnvoyFilterKeysNeverMatch() {
    var values = allowOnly(rule().when("experimental.envoy.filters.network.mysql_proxy[db.table]", "[update]"));
    var notValues = allowOnly(rule().whenNot("experimental.envoy.filters.network.mysql_proxy[db.table]", "[update]"));
    assertThat(allowed(values, get("/"))).isFalse();
    assertThat(allowed(notValues, get("/"))).isFalse();
    assertThat(engine(deny("foo", "d").rule(rule().whenNot("experimental.envoy.filters.a[b]", "x")))
        .evaluate(get("/").build(), null).allowed()).isTrue();
  }

  @Test
  void fieldsAndTheirNotFormsAreAndedEntriesOredRulesOred() {
    var engine = engine(allow("foo", "p")
        .rule(rule().from(source().namespaces("web").notPrincipals("cluster.local/ns/web/sa/blocked"))
            .from(source().namespaces("admin"))
            .to(op().methods("GET").paths("/read*"))
            .to(op().methods("POST").paths("/write"))
            .when("request.headers[x-a]", "1").when("request.headers[x-b]", "2"))
        .rule(rule().to(op().paths("/health"))));
    RequestBuilder ok = get("/read/x").from("web", "ok").header("x-a", "1").header("x-b", "2");
    assertThat(allowed(engine, ok)).isTrue();
    assertThat(allowed(engine, http("POST", "h", "/write").from("admin", "z").header("x-a", "1").header("x-b", "2")))
        .isTrue();
    assertThat(allowed(engine, get("/read/x").from("web", "blocked").header("x-a", "1").header("x-b", "2"))).isFalse();
    assertThat(allowed(engine, http("POST", "h", "/read").from("web", "ok").header("x-a", "1").header("x-b", "2")))
        .isFalse();
    assertThat(allowed(engine, get("/read/x").from("web", "ok").header("x-a", "1"))).isFalse();
    assertThat(allowed(engine, get("/health"))).isTrue();
  }

  // --- TCP: istio builder/testdata/tcp, model.go checkError ---

  @Test
  void onTcpAnAllowRuleWithAnyHttpOnlyFieldNeverMatches() {
    var engine = engine(allow("foo", "p")
        .rule(rule().to(op().paths("/x")).to(op().ports("8080")))
        .rule(rule().from(source().requestPrincipals("*"))));
    assertThat(engine.evaluate(tcp().port(8080).build(), null).allowed()).isFalse();
    assertThat(engine.evaluate(get("/y").port(8080).build(), null).allowed()).isTrue();
    var tcpRule = engine(allow("foo", "p").rule(rule().to(op().ports("8080"))).rule(rule().when("request.headers[x]", "1")));
    assertThat(tcpRule.evaluate(tcp().port(8080).build(), null).allowed()).isTrue();
    assertThat(tcpRule.evaluate(tcp().port(8081).build(), null).allowed()).isFalse();
  }

  @Test
  void onTcpADenyRuleDropsItsHttpOnlyFieldsWhichWidensIt() {
    var methodOnly = engine(deny("foo", "d").rule(rule().to(op().methods("GET"))));
    assertThat(methodOnly.evaluate(tcp().build(), null).allowed()).isFalse();
    assertThat(methodOnly.evaluate(http("POST", "h", "/").build(), null).allowed()).isTrue();

    var methodAndPort = engine(deny("foo", "d").rule(rule().to(op().methods("GET").ports("8080"))));
    assertThat(methodAndPort.evaluate(tcp().port(8080).build(), null).allowed()).isFalse();
    assertThat(methodAndPort.evaluate(tcp().port(9090).build(), null).allowed()).isTrue();

    var jwtAndNamespace = engine(deny("foo", "d").rule(rule().from(source().requestPrincipals("x/y").namespaces("web"))));
    assertThat(jwtAndNamespace.evaluate(tcp().from("web", "a").build(), null).allowed()).isFalse();
    assertThat(jwtAndNamespace.evaluate(tcp().from("api", "a").build(), null).allowed()).isTrue();

    var notPaths = engine(deny("foo", "d").rule(rule().to(op().notPaths("/public"))));
    assertThat(notPaths.evaluate(tcp().build(), null).allowed()).isFalse();
    var claimCondition = engine(deny("foo", "d").rule(rule().when("request.auth.claims[x]", "1").when("destination.port", "1")));
    assertThat(claimCondition.evaluate(tcp().port(1).build(), null).allowed()).isFalse();
    assertThat(claimCondition.evaluate(tcp().port(2).build(), null).allowed()).isTrue();
  }

  @Test
  void valuesIstioCannotBuildDropTheAllowRuleButOnlyTheValueInDeny() {
    var badAllow = engine(allow("foo", "p").rule(rule().from(source().ipBlocks("10.0.0.0/8", "not-an-ip"))));
    assertThat(badAllow.evaluate(get("/").sourceIp("10.0.0.1").build(), null).allowed()).isFalse();

    var badDeny = engine(deny("foo", "d").rule(rule().from(source().ipBlocks("10.0.0.0/8", "10.0.0.0/33"))));
    assertThat(badDeny.evaluate(get("/").sourceIp("10.0.0.1").build(), null).allowed()).isFalse();
    assertThat(badDeny.evaluate(get("/").sourceIp("11.0.0.1").build(), null).allowed()).isTrue();

    var onlyBad = engine(deny("foo", "d").rule(rule().to(op().ports("http"))));
    assertThat(onlyBad.evaluate(get("/").build(), null).allowed()).isFalse();

    var badHeaderKey = engine(allow("foo", "p").rule(rule().when("request.headers", "x")));
    assertThat(badHeaderKey.evaluate(get("/").build(), null).allowed()).isFalse();
  }

  @Test
  void anUnknownConditionKeySkipsTheRuleForEveryAction() {
    var deny = engine(deny("foo", "d").rule(rule().when("destination.namespace", "foo")));
    assertThat(deny.evaluate(get("/").build(), null).allowed()).isTrue();
    var allow = engine(allow("foo", "p").rule(rule().when("destination.labels[app]", "x")));
    assertThat(allow.evaluate(get("/").build(), null).allowed()).isFalse();
  }
}

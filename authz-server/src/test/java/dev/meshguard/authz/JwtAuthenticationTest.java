package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.testkit.Await;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * RequestAuthentication enforced by the server: real tokens signed with Nimbus (ES256, RS256), a
 * real JWKS endpoint on a socket ({@code com.sun.net.httpserver}), CheckRequests built the way
 * Envoy builds them, a {@link ManualClock} for expiry and cache ages.
 *
 * <p>Expected rejections come from Envoy: the status texts of {@code source/common/jwt/status.cc},
 * 401 with {@code WWW-Authenticate: Bearer realm="<uri>", error="invalid_token"} and 403 for
 * {@code JwtAudienceNotAllowed} ({@code jwt_authn/filter.cc onComplete}); the 60 s default clock
 * skew and the check order (issuer, time, audience, signature) of {@code authenticator.cc}.
 */
class JwtAuthenticationTest {

  /** The JWKS endpoints here are plain http; the TLS of https ones is {@link JwksCacheTlsTest}'s. */
  static dev.meshguard.core.tls.ClientTls jwksTls() throws dev.meshguard.core.config.ConfigException {
    return dev.meshguard.core.tls.ClientTls.load(
        dev.meshguard.core.crypto.Crypto.install(dev.meshguard.core.crypto.CryptoMode.DEFAULT), "t", null, null, null);
  }

  static final String ISSUER = "https://issuer.example";
  static final String HEADER_ISSUER = "https://header.example";
  static final String PARAM_ISSUER = "https://param.example";
  static final Instant START = Instant.parse("2026-06-01T12:00:00Z");
  static final String HOST = "orders.shop.svc.cluster.local";

  static final ECKey EC1 = ec("ec-1");
  static final ECKey EC2 = ec("ec-2");
  static final ECKey EC3 = ec("ec-3");
  static final RSAKey RSA1 = rsa("rsa-1");

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(START);
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final List<AuditEvent> audited = new CopyOnWriteArrayList<>();
  final AtomicReference<String> jwksBody = new AtomicReference<>();
  final AtomicInteger jwksStatus = new AtomicInteger(200);
  final AtomicInteger jwksHits = new AtomicInteger();
  HttpServer jwksServer;
  AuthzService service;
  PolicySnapshot snapshot;

  @BeforeEach
  void start() throws Exception {
    jwksBody.set(new JWKSet(List.<JWK>of(EC1.toPublicJWK(), RSA1.toPublicJWK())).toString());
    jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    jwksServer.createContext("/jwks", exchange -> {
      jwksHits.incrementAndGet();
      byte[] body = jwksBody.get().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(jwksStatus.get(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    jwksServer.start();
    String jwksUri = "http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/jwks";
    String policies = """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: orders-jwt, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          jwtRules:
          - issuer: "%s"
            jwksUri: "%s"
            audiences: ["orders-api", "https://orders.example/"]
            outputPayloadToHeader: x-jwt-payload
            outputClaimToHeaders:
            - {header: x-jwt-sub, claim: sub}
            - {header: x-tenant, claim: org.tenant}
            - {header: x-level, claim: level}
          - issuer: "%s"
            jwks: '%s'
            fromHeaders: [{name: x-token, prefix: "Token "}]
          - issuer: "%s"
            jwks: '%s'
            fromParams: [jwt]
            forwardOriginalToken: true
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: orders, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          action: ALLOW
          rules:
          - from: [{source: {requestPrincipals: ["%s/alice", "%s/*", "%s/*"]}}]
            to: [{operation: {paths: ["/orders*"]}}]
          - to: [{operation: {paths: ["/public*"]}}]
          - to: [{operation: {paths: ["/scoped*"]}}]
            when: [{key: "request.auth.claims[scope]", values: ["orders:admin"]}]
        """.formatted(ISSUER, jwksUri, HEADER_ISSUER, new JWKSet(RSA1.toPublicJWK()), PARAM_ISSUER,
        new JWKSet(EC1.toPublicJWK()), ISSUER, HEADER_ISSUER, PARAM_ISSUER);
    Path policyDir = Files.createDirectories(dir.resolve("policies"));
    Files.writeString(policyDir.resolve("shop.yaml"), policies);
    snapshot = PolicySnapshot.load(List.of(policyDir), null, "test", clock.now());
    AuthzService.Live live = new AuthzService.Live(snapshot, null, null);
    // Generous: a first fetch by a cold HTTP client on a loaded machine can take seconds, and no test
    // here waits for this timeout (the slow-server test sets its own).
    JwtOptions jwt = JwtOptions.DEFAULTS.withJwksTimeout(Duration.ofSeconds(20));
    service = new AuthzService(AuthzOptions.DEFAULTS, () -> live, clock, new AuthzMetrics(registry), audited::add,
        AuthzService.CustomProviders.UNAVAILABLE, jwt, jwksTls());
  }

  @AfterEach
  void stop() {
    jwksServer.stop(0);
  }

  // ---------------------------------------------------------------------------------------------
  // Tokens and requests

  static ECKey ec(String kid) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static RSAKey rsa(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A token valid at {@link #START} for {@link #ISSUER}, subject alice, audience orders-api. */
  JWTClaimsSet.Builder claims() {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .subject("alice")
        .audience("orders-api")
        .issueTime(Date.from(START))
        .notBeforeTime(Date.from(START))
        .expirationTime(Date.from(START.plusSeconds(600)))
        .claim("azp", "orders-web")
        .claim("scope", "orders:read orders:admin")
        .claim("level", 3)
        .claim("org", Map.of("tenant", "acme"));
  }

  static String sign(JWK key, JWTClaimsSet claims) {
    try {
      JWSAlgorithm alg = key instanceof RSAKey ? JWSAlgorithm.RS256 : JWSAlgorithm.ES256;
      JWSSigner signer = key instanceof RSAKey r ? new RSASSASigner(r) : new ECDSASigner((ECKey) key);
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  String token() {
    return sign(EC1, claims().build());
  }

  static EnvoyCheckRequests.Builder get(String path) {
    return EnvoyCheckRequests.http("GET", path).host(HOST).workload("shop", "app=orders")
        .principal("spiffe://cluster.local/ns/web/sa/frontend");
  }

  static CheckRequest bearer(String path, String token) {
    return get(path).header("Authorization", "Bearer " + token).build();
  }

  static Map<String, String> upstream(CheckResponse r) {
    return r.getOkResponse().getHeadersList().stream()
        .collect(Collectors.toMap(h -> h.getHeader().getKey(), h -> h.getHeader().getValue()));
  }

  double fetches(String outcome) {
    Counter c = registry.find("meshguard.authz.jwks.fetches").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  static void assertUnauthenticated(CheckResponse r, int httpStatus, String body, String path) {
    assertThat(r.getStatus().getCode()).as("gRPC status: UNAUTHENTICATED").isEqualTo(16);
    assertThat(r.getStatus().getMessage()).isEqualTo("request authentication failed: " + body);
    assertThat(r.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(httpStatus);
    assertThat(r.getDeniedResponse().getBody()).isEqualTo(body);
    assertThat(r.getDeniedResponse().getHeadersList()).extracting(h -> h.getHeader().getKey() + ": "
        + h.getHeader().getValue())
        .containsExactly("www-authenticate: Bearer realm=\"http://" + HOST + path + "\", error=\"invalid_token\"");
    assertThat(r.hasOkResponse()).isFalse();
  }

  // ---------------------------------------------------------------------------------------------
  // The table

  static Stream<Arguments> rejections() {
    Consumer<JWTClaimsSet.Builder> none = b -> {};
    return Stream.of(
        Arguments.of("expired beyond the 60 s skew", EC1,
            (Consumer<JWTClaimsSet.Builder>) b -> b.expirationTime(Date.from(START.minusSeconds(61))), 401,
            "Jwt is expired"),
        Arguments.of("not yet valid beyond the skew", EC1,
            (Consumer<JWTClaimsSet.Builder>) b -> b.notBeforeTime(Date.from(START.plusSeconds(61))), 401,
            "Jwt not yet valid"),
        Arguments.of("issuer of no rule", EC1,
            (Consumer<JWTClaimsSet.Builder>) b -> b.issuer("https://evil.example"), 401,
            "Jwt issuer is not configured"),
        Arguments.of("audience not allowed: 403", EC1,
            (Consumer<JWTClaimsSet.Builder>) b -> b.audience("billing-api"), 403,
            "Audiences in Jwt are not allowed"),
        Arguments.of("no audience while audiences are set", EC1,
            (Consumer<JWTClaimsSet.Builder>) b -> b.audience((String) null), 403,
            "Audiences in Jwt are not allowed"),
        Arguments.of("signed by another key under the same kid", ec("ec-1"), none, 401, "Jwt verification fails"),
        Arguments.of("time is checked before the signature", ec("ec-1"),
            (Consumer<JWTClaimsSet.Builder>) b -> b.expirationTime(Date.from(START.minusSeconds(3600))), 401,
            "Jwt is expired"),
        Arguments.of("sub not a string", EC1, (Consumer<JWTClaimsSet.Builder>) b -> b.claim("sub", 42), 401,
            "Jwt payload [sub] field is not a string"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejections")
  void rejectsLikeJwtAuthn(String name, JWK key, Consumer<JWTClaimsSet.Builder> change, int status, String body) {
    JWTClaimsSet.Builder b = claims();
    change.accept(b);
    CheckResponse r = service.decide(bearer("/orders/1", sign(key, b.build())));
    assertUnauthenticated(r, status, body, "/orders/1");
    assertThat(registry.find("meshguard.authz.jwt.rejected").counter().count()).isEqualTo(1);
  }

  static Stream<Arguments> malformed() {
    String payload = Base64.getUrlEncoder().withoutPadding()
        .encodeToString(("{\"iss\":\"" + ISSUER + "\",\"sub\":\"alice\"}").getBytes(StandardCharsets.UTF_8));
    String none = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(
        StandardCharsets.UTF_8));
    return Stream.of(
        Arguments.of("abc", JwtVerifier.BAD_FORMAT),
        Arguments.of("a.b.c.d", JwtVerifier.BAD_FORMAT),
        Arguments.of(none + "." + payload + ".", "Jwt header [alg] is not supported"),
        Arguments.of("e30." + payload + ".sig", "Jwt header [alg] field is required and must be a string"),
        Arguments.of("!!!." + payload + ".sig", "Jwt header is an invalid Base64url encoded"),
        Arguments.of("bm90anNvbg." + payload + ".sig", "Jwt header is an invalid JSON"));
  }

  @ParameterizedTest(name = "{1}: {0}")
  @MethodSource("malformed")
  void malformedTokens(String token, String body) {
    assertUnauthenticated(service.decide(bearer("/orders/1", token)), 401, body, "/orders/1");
  }

  @Test
  @SuppressWarnings("deprecation") // HeaderValueOption.append: what AuthzService sets, see there
  void validTokenAllowsWithItsPrincipalAndSetsUpstreamHeaders() {
    String token = token();
    CheckResponse r = service.decide(bearer("/orders/1", token));
    assertThat(r.getStatus().getCode()).isZero();
    Map<String, String> up = upstream(r);
    // outputPayloadToHeader: the token's own base64url payload segment, as Envoy forwards it.
    assertThat(up).containsEntry("x-jwt-payload", token.split("\\.")[1])
        .containsEntry("x-jwt-sub", "alice")
        .containsEntry("x-tenant", "acme")
        .containsEntry("x-level", "3");
    assertThat(r.getOkResponse().getHeadersList()).allMatch(h -> !h.getAppend().getValue());
    // forwardOriginalToken false (the default): the header the token came in is removed upstream.
    assertThat(r.getOkResponse().getHeadersToRemoveList()).containsExactly("authorization");
    assertThat(jwksHits).hasValue(1);
    assertThat(fetches("success")).isEqualTo(1);

    service.decide(bearer("/orders/2", token)); // cached keys: no second fetch
    assertThat(jwksHits).hasValue(1);
  }

  @Test
  void keysArePrefetchedWhenPoliciesLoad() throws Exception {
    service.prefetchJwks(snapshot); // what AuthzServer does before a revision serves
    awaitFetches("success", 1);
    assertThat(jwksHits).hasValue(1);
    assertThat(service.decide(bearer("/orders/1", token())).getStatus().getCode()).isZero();
    assertThat(jwksHits).hasValue(1);
  }

  @Test
  void rs256AndAudienceSanitizing() throws Exception {
    // RS256 from the same JWKS; "https://orders.example/" in the rule equals "orders.example" in the token
    // (jwt_verify_lib check_audience.cc ignores the scheme and a trailing slash).
    CheckResponse r = service.decide(bearer("/orders/1", sign(RSA1, claims().audience("orders.example").build())));
    assertThat(r.getStatus().getCode()).isZero();
  }

  @Test
  void withinTheClockSkewIsStillValid() {
    CheckResponse r = service.decide(bearer("/orders/1",
        sign(EC1, claims().expirationTime(Date.from(START.minusSeconds(59))).build())));
    assertThat(r.getStatus().getCode()).isZero();
  }

  @Test
  void noTokenMeansNoRequestPrincipal() {
    CheckResponse open = service.decide(get("/public/x").build());
    assertThat(open.getStatus().getCode()).isZero();
    assertThat(open.getOkResponse().getHeadersToRemoveList()).isEmpty();
    CheckResponse closed = service.decide(get("/orders/1").build());
    assertThat(closed.getStatus().getCode()).as("PERMISSION_DENIED, not 401").isEqualTo(7);
    assertThat(closed.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(403);
    assertThat(audited).last().extracting(e -> e.subject().requestPrincipal()).isNull();
    // A header without the Bearer prefix holds no token for the default location either.
    CheckResponse basic = service.decide(get("/orders/1").header("Authorization", "Basic dXNlcjpwdw==").build());
    assertThat(basic.getStatus().getCode()).isEqualTo(7);
  }

  @Test
  void anInvalidTokenIsRejectedEvenWhereNoPolicyNeedsIt() {
    // Istio: a present but invalid token is a 401 before authorization, whatever the path.
    assertUnauthenticated(service.decide(bearer("/public/x", "abc")), 401, JwtVerifier.BAD_FORMAT,
        "/public/x");
  }

  @Test
  void fromHeadersWithPrefix() {
    String token = sign(RSA1, claims().issuer(HEADER_ISSUER).subject("bob").audience((String) null).build());
    CheckResponse r = service.decide(get("/orders/1").header("x-token", "Token " + token).build());
    assertThat(r.getStatus().getCode()).isZero();
    assertThat(r.getOkResponse().getHeadersToRemoveList()).containsExactly("x-token");
    // Without the prefix there is no token at that location, so no principal.
    CheckResponse bare = service.decide(get("/orders/1").header("x-token", token).build());
    assertThat(bare.getStatus().getCode()).isEqualTo(7);
    // The header issuer's token in the default location matches no rule reading it.
    assertUnauthenticated(service.decide(bearer("/orders/1", token)), 401, "Jwt issuer is not configured",
        "/orders/1");
  }

  @Test
  void fromParamsAndTheTokenNeverReachesTheAudit() {
    String token = sign(EC1, claims().issuer(PARAM_ISSUER).subject("carol").audience((String) null).build());
    CheckResponse r = service.decide(get("/orders/1?jwt=" + token + "&page=2").build());
    assertThat(r.getStatus().getCode()).isZero();
    // forwardOriginalToken: true, and Envoy never removes query tokens anyway.
    assertThat(r.getOkResponse().getHeadersToRemoveList()).isEmpty();

    CheckResponse denied = service.decide(get("/admin?jwt=" + token).build());
    assertThat(denied.getStatus().getCode()).isEqualTo(7);
    AuditEvent e = audited.get(audited.size() - 1);
    assertThat(e.subject().requestPrincipal()).isEqualTo(PARAM_ISSUER + "/carol");
    assertThat(e.object().path()).isEqualTo("/admin?jwt=REDACTED");
    assertThat(e.toString()).doesNotContain(token).doesNotContain(token.split("\\.")[2]);
  }

  @Test
  void auditRecordsThePrincipalNeverTheToken() {
    String bad = sign(ec("ec-1"), claims().build());
    service.decide(bearer("/orders/1?access_token=" + bad, bad));
    String token = token();
    service.decide(get("/nowhere?access_token=" + token).build());
    assertThat(audited).hasSize(2);
    assertThat(audited.get(0).reason()).isEqualTo("request authentication failed: Jwt verification fails");
    assertThat(audited.get(0).subject().requestPrincipal()).as("an unverified token names no one").isNull();
    assertThat(audited.get(1).subject().requestPrincipal()).isEqualTo(ISSUER + "/alice");
    for (AuditEvent e : audited) {
      assertThat(e.toString()).doesNotContain(bad).doesNotContain(token)
          .doesNotContain(bad.split("\\.")[2]).doesNotContain(token.split("\\.")[2]);
    }
  }

  @Test
  void scopeIsSplitOnSpacesOnBothPaths() {
    // Self-verified: "orders:read orders:admin" becomes a list, as jwt_authn's metadata holds it.
    assertThat(service.decide(bearer("/scoped", token())).getStatus().getCode()).isZero();
    assertThat(service.decide(bearer("/scoped", sign(EC1, claims().claim("scope", "orders:read").build())))
        .getStatus().getCode()).isEqualTo(7);
    // From Envoy's jwt_authn (normalize_payload_in_metadata): trusted as sent; the Authorization
    // header it left behind is not verified again.
    Struct payload = Struct.newBuilder()
        .putFields("iss", Value.newBuilder().setStringValue(ISSUER).build())
        .putFields("sub", Value.newBuilder().setStringValue("alice").build())
        .putFields("scope", Value.newBuilder().setListValue(ListValue.newBuilder()
            .addValues(Value.newBuilder().setStringValue("orders:read"))
            .addValues(Value.newBuilder().setStringValue("orders:admin"))).build())
        .build();
    CheckRequest fromEnvoy = get("/scoped").header("Authorization", "Bearer not-a-token")
        .metadata(CheckRequestAttributes.JWT_AUTHN_FILTER, Struct.newBuilder()
            .putFields(ISSUER, Value.newBuilder().setStructValue(payload).build()).build())
        .build();
    CheckResponse r = service.decide(fromEnvoy);
    assertThat(r.getStatus().getCode()).isZero();
    assertThat(r.getOkResponse().getHeadersList()).isEmpty();
    assertThat(jwksHits).hasValue(1); // only the self-verified requests above fetched
  }

  @Test
  void unknownKidRefetchesOnceThenKeyRotationWorks() {
    assertThat(service.decide(bearer("/orders/1", token())).getStatus().getCode()).isZero();
    assertThat(jwksHits).hasValue(1);
    clock.advance(Duration.ofSeconds(11)); // past the minimum refresh interval since that fetch

    // The issuer rotates to ec-2 and publishes it; our copy lacks the kid: one refetch.
    jwksBody.set(new JWKSet(List.<JWK>of(EC1.toPublicJWK(), EC2.toPublicJWK())).toString());
    assertThat(service.decide(bearer("/orders/1", sign(EC2, claims().build()))).getStatus().getCode()).isZero();
    assertThat(jwksHits).hasValue(2);

    // A kid nobody publishes: one refetch, then none within the interval (forged kids cannot
    // drive fetches).
    clock.advance(Duration.ofSeconds(11));
    String forged = sign(EC3, claims().build());
    assertUnauthenticated(service.decide(bearer("/orders/1", forged)), 401,
        "Jwks doesn't have key to match kid or alg from Jwt", "/orders/1");
    assertThat(jwksHits).hasValue(3);
    for (int i = 0; i < 5; i++) {
      service.decide(bearer("/orders/1", forged));
    }
    assertThat(jwksHits).hasValue(3);
    clock.advance(Duration.ofSeconds(11));
    service.decide(bearer("/orders/1", forged));
    assertThat(jwksHits).hasValue(4);
  }

  @Test
  void jwksServerDownServesStaleKeysThenFails() throws Exception {
    assertThat(service.decide(bearer("/orders/1", token())).getStatus().getCode()).isZero();
    jwksStatus.set(503);

    // Past the 20 min TTL: still served, a background refresh is started and fails.
    clock.advance(Duration.ofMinutes(21));
    assertThat(service.decide(bearer("/orders/1", sign(EC1, claims()
        .expirationTime(Date.from(clock.now().plusSeconds(600))).build()))).getStatus().getCode()).isZero();
    awaitFetches("error", 1);
    assertThat(jwksHits).hasValue(2);

    // Past TTL + the 24 h stale-if-error window: no usable keys, the fetch fails: 401.
    clock.advance(Duration.ofHours(25));
    String later = sign(EC1, claims().issueTime(Date.from(clock.now())).notBeforeTime(Date.from(clock.now()))
        .expirationTime(Date.from(clock.now().plusSeconds(600))).build());
    assertUnauthenticated(service.decide(bearer("/orders/1", later)), 401, "Jwks remote fetch is failed",
        "/orders/1");
    assertThat(fetches("error")).isEqualTo(2);

    // The server is back; once the refresh interval has passed, keys come again.
    jwksStatus.set(200);
    clock.advance(Duration.ofSeconds(11));
    assertThat(service.decide(bearer("/orders/1", later)).getStatus().getCode()).isZero();
    assertThat(fetches("success")).isEqualTo(2);
  }

  @Test
  void jwksServerUnreachableAtStartIsA401() throws Exception {
    jwksServer.stop(0);
    assertUnauthenticated(service.decide(bearer("/orders/1", token())), 401, "Jwks remote fetch is failed",
        "/orders/1");
    assertThat(fetches("error")).isEqualTo(1);
  }

  @Test
  void aSlowJwksServerDelaysARequestAtMostTheTimeout() throws Exception {
    // Warm up class loading and JIT with a normal fetch: the timing below is about the wait only.
    assertThat(service.decide(bearer("/orders/1", token())).getStatus().getCode()).isZero();
    String token = token();
    // A JWKS endpoint that answers after 30 s, with a 300 ms timeout configured: a wait of less than
    // 10 s (a loaded machine's slack) is the timeout at work.
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    jwksServer.removeContext("/jwks");
    jwksServer.createContext("/jwks", exchange -> {
      jwksHits.incrementAndGet();
      try {
        release.await(30, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      exchange.sendResponseHeaders(503, -1);
      exchange.close();
    });
    PolicySnapshot snapshot = PolicySnapshot.load(List.of(dir.resolve("policies")), null, "test", clock.now());
    AuthzService.Live live = new AuthzService.Live(snapshot, null, null);
    AuthzService slow = new AuthzService(AuthzOptions.DEFAULTS, () -> live, clock, new AuthzMetrics(registry),
        audited::add, AuthzService.CustomProviders.UNAVAILABLE,
        JwtOptions.DEFAULTS.withJwksTimeout(Duration.ofMillis(300)), jwksTls());
    try {
      long start = System.nanoTime();
      CheckResponse r = slow.decide(bearer("/orders/1", token));
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertUnauthenticated(r, 401, "Jwks remote fetch is failed", "/orders/1");
      assertThat(took).as("waited %s", took).isLessThan(Duration.ofSeconds(10));
      awaitFetches("timeout", 1);
    } finally {
      release.countDown();
    }
  }

  /** The background refresh completes on the HTTP client's thread: wait for its counter, bounded. */
  private void awaitFetches(String outcome, double n) {
    Await.until(Duration.ofSeconds(10), () -> fetches(outcome) >= n,
        () -> "JWKS fetches with outcome " + outcome + ": " + fetches(outcome) + ", expected " + n);
    assertThat(fetches(outcome)).isEqualTo(n);
  }

  @Test
  void tcpChecksAndOtherWorkloadsAreUntouched() {
    CheckResponse tcp = service.decide(EnvoyCheckRequests.tcp().workload("shop", "app=orders").build());
    assertThat(tcp.getStatus().getCode()).isEqualTo(7); // ALLOW policy with HTTP-only rules: TCP denied
    CheckResponse other = service.decide(EnvoyCheckRequests.http("GET", "/x").workload("shop", "app=cart")
        .header("Authorization", "Bearer abc").build());
    assertThat(other.getStatus().getCode()).as("no RequestAuthentication selects app=cart").isZero();
  }

  @Test
  @SuppressWarnings("deprecation")
  void headersAreSetNotAppended() {
    CheckResponse r = service.decide(get("/orders/1").header("Authorization", "Bearer " + token())
        .header("x-jwt-sub", "mallory").build());
    List<HeaderValueOption> sub = r.getOkResponse().getHeadersList().stream()
        .filter(h -> h.getHeader().getKey().equals("x-jwt-sub")).toList();
    assertThat(sub).hasSize(1);
    assertThat(sub.get(0).getHeader().getValue()).isEqualTo("alice");
    assertThat(sub.get(0).getAppend().getValue()).isFalse();
  }

  @Test
  void helpers() throws IOException {
    assertThat(JwtTokenExtractor.redactTokens("/a?x=1&t=eyJh.eyJp.c2ln&y=2")).isEqualTo("/a?x=1&t=REDACTED&y=2");
    assertThat(JwtTokenExtractor.redactTokens("/a?v=1.2.3")).isEqualTo("/a?v=1.2.3");
    assertThat(JwtTokenExtractor.redactTokens("/a")).isEqualTo("/a");
    assertThat(JwtAuthnOutput.claimText(Map.of("n", 1.5), "n")).isEqualTo("1.500000"); // std::to_string
    assertThat(JwtAuthnOutput.claimText(Map.of("n", -2L), "n")).isEqualTo("-2.000000");
    assertThat(JwtAuthnOutput.claimText(Map.of("b", true), "b")).isEqualTo("true");
    assertThat(JwtAuthnOutput.claimText(Map.of("l", List.of("a")), "l")).isNull();
    assertThat(JwtTokenExtractor.cookie("a=1; session=\"tok\"; b=2", "session")).isEqualTo("tok");
    assertThat(JwtTokenExtractor.queryParam("/p?a=1&access_token=x%2Ey", "access_token")).isEqualTo("x.y");
    assertThat(JwtVerifier.sanitizeAudience("https://a.example/")).isEqualTo("a.example");
  }
}

package dev.meshguard.ca.server;

import static dev.meshguard.ca.server.CaFixture.KUBERNETES;
import static dev.meshguard.ca.server.CaFixture.OFFLINE;
import static dev.meshguard.ca.server.CaFixture.WEB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The authentication table: each way a caller can fail to prove who it is, against both kinds of
 * token cluster (TokenReview through {@link KubernetesApi}, and offline JWKS), with the gRPC code
 * and the exact message, and never a certificate. The codes are istiod's
 * ({@code security/pkg/server/ca/server.go}: every authentication failure is
 * {@code codes.Unauthenticated}), except "a valid token for another service account": istiod would
 * silently stamp the caller's identity; this CA refuses the CSR (PERMISSION_DENIED, issue 7).
 * Every call sends a CSR for {@value CaFixture#WEB}.
 */
class CallerAuthenticationIT {
  @TempDir
  static Path dir;

  static CaFixture ca;

  @BeforeAll
  static void start() throws Exception {
    ca = CaFixture.start(dir, Crypto.install(CryptoMode.DEFAULT));
  }

  @AfterAll
  static void stop() {
    ca.close();
  }

  static final String REFUSED = "service account token refused (cluster ";

  /** A row: the headers made from the fixture, the code, and the message (a prefix when it ends with "…"). */
  static Arguments row(String name, Function<CaFixture, Metadata> headers, Status.Code code, String message) {
    return Arguments.of(name, headers, code, message);
  }

  static Stream<Arguments> table() {
    Instant twoHoursAgo = Instant.now().minus(Duration.ofHours(2));
    return Stream.of(
        row("no token", ca -> null, Status.Code.UNAUTHENTICATED, "no credentials: present a client certificate issued by"
            + " this CA, or an authorization header \"Bearer <Kubernetes service account token>\""),
        row("not a bearer token", ca -> header("Basic d2ViOnNlY3JldA=="), Status.Code.UNAUTHENTICATED,
            "the authorization header is not \"Bearer <token>\""),
        row("empty bearer token", ca -> header("Bearer "), Status.Code.UNAUTHENTICATED,
            "the authorization header is not \"Bearer <token>\""),

        row("malformed token (TokenReview)", ca -> CaFixture.bearer("not-a-jwt", KUBERNETES), Status.Code.UNAUTHENTICATED,
            REFUSED + "Kubernetes): the Kubernetes API did not authenticate the token"),
        row("malformed token (JWKS)", ca -> CaFixture.bearer("not-a-jwt", OFFLINE), Status.Code.UNAUTHENTICATED,
            REFUSED + "offline): the token is not a signed JWT: …"),

        row("expired token (TokenReview)", ca -> CaFixture.bearer(ca.tokens.token("default", "web", List.of("istio-ca"),
                twoHoursAgo, Duration.ofHours(1)), KUBERNETES), Status.Code.UNAUTHENTICATED,
            REFUSED + "Kubernetes): the Kubernetes API did not authenticate the token: [invalid bearer token, service"
                + " account token has expired]"),
        row("expired token (JWKS)", ca -> CaFixture.bearer(ca.offlineTokens.token("default", "web", List.of("istio-ca"),
                twoHoursAgo, Duration.ofHours(1)), OFFLINE), Status.Code.UNAUTHENTICATED,
            REFUSED + "offline): the token expired at …"),

        row("wrong audience (TokenReview)", ca -> CaFixture.bearer(ca.tokens.token("default", "web",
                List.of(ServiceAccountTokens.ISSUER), Instant.now(), Duration.ofHours(1)), KUBERNETES),
            Status.Code.UNAUTHENTICATED, REFUSED + "Kubernetes): the Kubernetes API did not authenticate the token:"
                + " [invalid bearer token, token audiences [\"https://kubernetes.default.svc.cluster.local\"] is invalid"
                + " for the target audiences [\"istio-ca\"]]"),
        row("wrong audience (JWKS)", ca -> CaFixture.bearer(ca.offlineTokens.token("default", "web",
                List.of("vault"), Instant.now(), Duration.ofHours(1)), OFFLINE),
            Status.Code.UNAUTHENTICATED, REFUSED + "offline): the token's audiences [vault] do not include istio-ca"),

        row("signed by another key (TokenReview)", ca -> CaFixture.bearer(ServiceAccountTokens.rsa(ServiceAccountTokens.ISSUER)
                .token("default", "web"), KUBERNETES), Status.Code.UNAUTHENTICATED,
            REFUSED + "Kubernetes): the Kubernetes API did not authenticate the token: [invalid bearer token,"
                + " go-jose/go-jose: error in cryptographic primitive]"),
        row("signed by another key (JWKS)", ca -> CaFixture.bearer(ServiceAccountTokens.ec(CaFixture.OFFLINE_ISSUER)
                .token("default", "web"), OFFLINE), Status.Code.UNAUTHENTICATED,
            REFUSED + "offline): no key of the issuer's JWK Set matches the token (kid …"),
        row("another cluster's token (TokenReview)", ca -> CaFixture.bearer(ca.offlineTokens.token("default", "web"),
                KUBERNETES), Status.Code.UNAUTHENTICATED,
            REFUSED + "Kubernetes): the Kubernetes API did not authenticate the token"),
        row("another cluster's token (JWKS)", ca -> CaFixture.bearer(ca.tokens.token("default", "web"), OFFLINE),
            Status.Code.UNAUTHENTICATED, REFUSED + "offline): no key of the issuer's JWK Set matches the token (kid …"),

        row("unknown cluster", ca -> CaFixture.bearer(ca.tokens.token("default", "web"), "elsewhere"),
            Status.Code.UNAUTHENTICATED, "unknown cluster \"elsewhere\" (ClusterID metadata); this CA checks the tokens of"
                + " Kubernetes, forbidden, offline"),
        row("two ClusterIDs", ca -> {
              Metadata headers = CaFixture.bearer(ca.tokens.token("default", "web"), KUBERNETES);
              headers.put(Metadata.Key.of("clusterid", Metadata.ASCII_STRING_MARSHALLER), OFFLINE);
              return headers;
            }, Status.Code.UNAUTHENTICATED, "the call has 2 ClusterID values; send one"),

        row("valid token for another service account (TokenReview)", ca -> CaFixture.bearer(
                ca.tokens.token("default", "admin"), null), Status.Code.PERMISSION_DENIED,
            "the CSR asks for " + WEB + " but the caller is spiffe://example.org/ns/default/sa/admin"),
        row("valid token for another service account (JWKS)", ca -> CaFixture.bearer(
                ca.offlineTokens.token("prod", "web"), OFFLINE), Status.Code.PERMISSION_DENIED,
            "the CSR asks for " + WEB + " but the caller is spiffe://example.org/ns/prod/sa/web"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void refusedWithoutACertificate(String name, Function<CaFixture, Metadata> headers, Status.Code code, String message)
      throws Exception {
    Metadata metadata = headers.apply(ca);
    assertThatThrownBy(() -> CaFixture.create(ca.channel(), metadata, TestCsrs.ecP256(WEB).pem(), 0))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(code);
          if (message.endsWith("…")) {
            assertThat(e.getStatus().getDescription()).startsWith(message.substring(0, message.length() - 1));
          } else {
            assertThat(e.getStatus().getDescription()).isEqualTo(message);
          }
        });
    var refusal = ca.auditEvents().getLast();
    assertThat(refusal.kind()).isEqualTo("refuse");
    assertThat(refusal.outcome()).isEqualTo(code.name().toLowerCase(java.util.Locale.ROOT));
  }

  /** The table's valid rows pass, so the refusals above are about what each row changes. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("validTokens")
  void theSameCallWithAValidTokenIsIssued(String cluster, Function<CaFixture, String> token) throws Exception {
    var response = CaFixture.create(ca.channel(), CaFixture.bearer(token.apply(ca), cluster), TestCsrs.ecP256(WEB).pem(), 0);
    assertThat(response.getCertChainCount()).isEqualTo(2);
  }

  static Stream<Arguments> validTokens() {
    return Stream.of(
        Arguments.of(KUBERNETES, (Function<CaFixture, String>) ca -> ca.tokens.token("default", "web")),
        Arguments.of(OFFLINE, (Function<CaFixture, String>) ca -> ca.offlineTokens.token("default", "web")));
  }

  private static Metadata header(String authorization) {
    Metadata headers = new Metadata();
    headers.put(CallInfo.AUTHORIZATION, authorization);
    return headers;
  }
}

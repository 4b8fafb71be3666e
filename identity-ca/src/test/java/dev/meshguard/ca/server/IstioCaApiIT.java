package dev.meshguard.ca.server;

import static dev.meshguard.ca.server.CaFixture.WEB;
import static dev.meshguard.ca.server.CaFixture.bearer;
import static dev.meshguard.ca.server.CaFixture.create;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateResponse;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Istio CA API over real gRPC and real TLS, called the way istio-agent calls it: TLS to
 * {@code localhost} verified against the CA's root with host name verification, a
 * service-account token with audience {@code istio-ca} in {@code authorization: Bearer}, a PEM CSR
 * with the agent's SPIFFE ID; the Kubernetes API answering TokenReviews is {@link KubernetesApi}.
 */
class IstioCaApiIT {
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

  @Test
  void issuesForAServiceAccountTokenLeafFirstRootLastOnePemPerElement() throws Exception {
    double issuedBefore = ca.counter("meshguard.ca.issued", "key_type", "ecdsa-p256");
    int reviewsBefore = ca.kube.reviews().size();
    String token = ca.tokens.token("default", "web");
    TestCsrs csr = TestCsrs.ecP256(WEB);

    IstioCertificateResponse response = create(ca.channel(), bearer(token, null), csr.pem(), 0);

    List<String> chain = response.getCertChainList();
    assertThat(chain).as("istio-agent rejects fewer than two elements").hasSizeGreaterThanOrEqualTo(2);
    for (String element : chain) {
      assertThat(CaFixture.parse(element)).as("one certificate per element (ztunnel)").hasSize(1);
      assertThat(element).startsWith("-----BEGIN CERTIFICATE-----\n").endsWith("-----END CERTIFICATE-----\n");
    }
    X509Certificate leaf = CaFixture.parse(chain.getFirst()).getFirst();
    X509Certificate last = CaFixture.parse(chain.getLast()).getFirst();
    assertThat(last).as("the root is last").isEqualTo(ca.root());
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    assertThat(leaf.getPublicKey()).isEqualTo(csr.keyPair().getPublic());
    assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
        .as("the default TTL (24h) plus the back-dating (1m)").isEqualTo(Duration.ofHours(24).plusMinutes(1));
    var path = java.security.cert.CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf));
    PKIXParameters pkix = new PKIXParameters(Set.of(new TrustAnchor(ca.root(), null)));
    pkix.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(path, pkix);

    var review = ca.kube.reviews().get(reviewsBefore);
    assertThat(review.path("apiVersion").asText()).isEqualTo("authentication.k8s.io/v1");
    assertThat(review.path("kind").asText()).isEqualTo("TokenReview");
    assertThat(review.path("spec").path("token").asText()).isEqualTo(token);
    assertThat(review.path("spec").path("audiences").toString()).isEqualTo("[\"istio-ca\"]");

    AuditEvent event = lastEvent("issue");
    assertThat(event.component()).isEqualTo("ca");
    assertThat(event.outcome()).isEqualTo("issued");
    assertThat(event.object().serial()).isEqualTo(leaf.getSerialNumber().toString(16));
    assertThat(event.object().spiffeId()).isEqualTo(WEB);
    assertThat(event.subject().principal()).isEqualTo(WEB);
    assertThat(event.subject().requestPrincipal()).isEqualTo("system:serviceaccount:default:web");
    assertThat(event.subject().sourceIp()).isEqualTo("127.0.0.1");
    assertThat(event.reason()).startsWith("ttl 86400s (not after " + leaf.getNotAfter().toInstant() + "), key ecdsa-p256,"
        + " caller authenticated by service account token of default/web (cluster Kubernetes)");
    assertThat(ca.counter("meshguard.ca.issued", "key_type", "ecdsa-p256")).isEqualTo(issuedBefore + 1);
  }

  @Test
  void renewsForTheSvidItHoldsWithoutAToken() throws Exception {
    TestCsrs first = TestCsrs.ecP256(WEB);
    IstioCertificateResponse issued = create(ca.channel(), bearer(ca.tokens.token("default", "web"), null), first.pem(), 0);
    Path cert = Files.writeString(dir.resolve("web-cert.pem"), String.join("", issued.getCertChainList()));
    Path key = Files.writeString(dir.resolve("web-key.pem"), first.keyPem());
    ManagedChannel withSvid = ca.channel(cert, key);

    IstioCertificateResponse renewed = create(withSvid, null, TestCsrs.ecP256(WEB).pem(), 0);
    X509Certificate leaf = CaFixture.parse(renewed.getCertChain(0)).getFirst();
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    assertThat(lastEvent("issue").reason()).contains("caller authenticated by client certificate");

    assertThatThrownBy(() -> create(withSvid, null, TestCsrs.ecP256("spiffe://example.org/ns/default/sa/admin").pem(), 0))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).isEqualTo(
              "the CSR asks for spiffe://example.org/ns/default/sa/admin but the caller is " + WEB);
        });
  }

  @Test
  void honoursTheRequestedTtlAndRefusesOneOverTheMaximum() throws Exception {
    String token = ca.tokens.token("default", "web");
    X509Certificate leaf = CaFixture.parse(create(ca.channel(), bearer(token, null), TestCsrs.ecP256(WEB).pem(), 3600)
        .getCertChain(0)).getFirst();
    assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
        .isEqualTo(Duration.ofHours(1).plusMinutes(1));

    long ninetyOneDays = Duration.ofDays(91).toSeconds();
    assertRefused(() -> create(ca.channel(), bearer(token, null), TestCsrs.ecP256(WEB).pem(), ninetyOneDays),
        Status.Code.INVALID_ARGUMENT, "the requested TTL PT2184H is longer than the maximum PT2160H");
  }

  @Test
  void aTrustedNodeAccountMayAskForAnotherIdentity() throws Exception {
    String ztunnel = ca.tokens.token("istio-system", "ztunnel");
    IstioCertificateResponse response = create(ca.channel(), bearer(ztunnel, null),
        CaFixture.impersonating(TestCsrs.ecP256(WEB).pem(), WEB));
    X509Certificate leaf = CaFixture.parse(response.getCertChain(0)).getFirst();
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    AuditEvent event = lastEvent("issue");
    assertThat(event.subject().principal()).isEqualTo("spiffe://example.org/ns/istio-system/sa/ztunnel");
    assertThat(event.object().spiffeId()).isEqualTo(WEB);
    assertThat(event.reason()).endsWith(", ImpersonatedIdentity " + WEB);

    assertRefused(() -> create(ca.channel(), bearer(ztunnel, null),
            CaFixture.impersonating(TestCsrs.ecP256(WEB).pem(), "spiffe://other.org/ns/default/sa/web")),
        Status.Code.INVALID_ARGUMENT, "ImpersonatedIdentity spiffe://other.org/ns/default/sa/web is not a workload of"
            + " trust domain example.org");
  }

  @Test
  void anyOtherAccountMayNot() {
    String web = ca.tokens.token("default", "web");
    assertRefused(() -> create(ca.channel(), bearer(web, null),
            CaFixture.impersonating(TestCsrs.ecP256("spiffe://example.org/ns/default/sa/db").pem(),
                "spiffe://example.org/ns/default/sa/db")),
        Status.Code.PERMISSION_DENIED, "ImpersonatedIdentity is honoured only for the trusted node accounts"
            + " (ca.authentication.trusted_node_accounts: istio-system/ztunnel); the caller is " + WEB
            + " (service account token of default/web (cluster Kubernetes))");
  }

  @Test
  void aKubernetesApiThatIsDownIsUnavailableNotUnauthenticated() throws Exception {
    ca.kube.down(true);
    try {
      assertRefused(() -> create(ca.channel(), bearer(ca.tokens.token("default", "web"), null), TestCsrs.ecP256(WEB).pem(),
          0), Status.Code.UNAVAILABLE, "cannot check the service account token now (cluster Kubernetes): the Kubernetes"
          + " API answered the TokenReview with HTTP 503 (the server is currently unable to handle the request)");
    } finally {
      ca.kube.down(false);
    }
  }

  @Test
  void aReviewerWithoutPermissionIsAnInternalFailureWithDetailsOnlyInTheLog() throws Exception {
    double before = ca.counter("meshguard.ca.refused", "reason", "internal");
    assertRefused(() -> create(ca.channel(), bearer(ca.tokens.token("default", "web"), CaFixture.FORBIDDEN),
        TestCsrs.ecP256(WEB).pem(), 0), Status.Code.INTERNAL,
        "internal error while checking the token (cluster forbidden); the CA's log has the details");
    assertThat(ca.counter("meshguard.ca.refused", "reason", "internal")).isEqualTo(before + 1);
  }

  @Test
  void refusalsAreAuditedAndCountedByReason() throws Exception {
    double before = ca.counter("meshguard.ca.refused", "reason", "permission_denied");
    String admin = ca.tokens.token("default", "admin");
    assertRefused(() -> create(ca.channel(), bearer(admin, null), TestCsrs.ecP256(WEB).pem(), 0),
        Status.Code.PERMISSION_DENIED, "the CSR asks for " + WEB + " but the caller is spiffe://example.org/ns/default/sa/admin");
    AuditEvent event = lastEvent("refuse");
    assertThat(event.outcome()).isEqualTo("permission_denied");
    assertThat(event.subject().principal()).isEqualTo("spiffe://example.org/ns/default/sa/admin");
    assertThat(event.object().spiffeId()).isEqualTo("spiffe://example.org/ns/default/sa/admin");
    assertThat(event.object().serial()).isNull();
    assertThat(event.reason()).isEqualTo("the CSR asks for " + WEB + " but the caller is spiffe://example.org/ns/default/sa/admin");
    assertThat(ca.counter("meshguard.ca.refused", "reason", "permission_denied")).isEqualTo(before + 1);
  }

  @Test
  void statusListsBothEndpoints() {
    var status = ca.server.status();
    assertThat(status.component()).isEqualTo("ca");
    assertThat(status.ready()).isTrue();
    assertThat(status.revision()).isEqualTo(ca.server.ca().signingCertificate().getSerialNumber().toString(16));
    assertThat(status.endpoints()).containsEntry("grpc", "127.0.0.1:" + ca.server.port())
        .containsEntry("bundle", "https://127.0.0.1:" + ca.server.bundlePort() + "/");
  }

  static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Status.Code code, String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).isEqualTo(message);
    });
  }

  private static AuditEvent lastEvent(String kind) throws Exception {
    return ca.auditEvents().stream().filter(e -> e.kind().equals(kind)).reduce((a, b) -> b).orElseThrow();
  }
}

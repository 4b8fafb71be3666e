package dev.meshguard.ca.server;

import static dev.meshguard.ca.server.CaFixture.WEB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.Durability;
import dev.meshguard.ca.server.CaServerOptions.AuthenticationOptions;
import dev.meshguard.ca.server.CaServerOptions.ClusterOptions;
import dev.meshguard.ca.server.CaServerOptions.JwksOptions;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issuance over the Istio CA API in a JVM in Bouncy Castle approved-only mode (the "fips" fork):
 * the servers' TLS is BCJSSE, the client's too, the caller's token is an ES256 service-account
 * token checked offline, and an Ed25519 CSR is refused by policy (INVALID_ARGUMENT).
 */
@Tag("fips")
class IstioCaFipsTest {
  @TempDir
  static Path dir;

  static Crypto crypto;
  static ScheduledExecutorService scheduler;
  static ServiceAccountTokens tokens;
  static CaServer server;
  static TlsContext client;
  static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    scheduler = Executors.newSingleThreadScheduledExecutor();
    tokens = ServiceAccountTokens.ec(CaFixture.OFFLINE_ISSUER);
    AuthenticationOptions authentication = new AuthenticationOptions(List.of("istio-ca"), "Kubernetes", Map.of(
        "Kubernetes", new ClusterOptions(null, new JwksOptions(tokens.writeJwks(dir.resolve("jwks.json")),
            CaFixture.OFFLINE_ISSUER))), List.of());
    server = CaServer.start(CaServerOptions.DEFAULTS.withTrustDomain("example.org").withDir(dir.resolve("ca"))
        .withPorts(0, 0).withAuthentication(authentication), crypto, Clock.SYSTEM, scheduler, new SimpleMeterRegistry(),
        null, Durability.DURABLE);
    client = TlsContext.forClient(TlsOptions.builder().trustBundleFile(dir.resolve("ca/root-cert.pem"))
        .allowedPeers(SpiffeIdAllowList.parse("test", List.of("spiffe://example.org/meshguard/ca")))
        .reloadInterval(Duration.ZERO).build(), crypto, null);
    channel = NettyChannelBuilder.forAddress("localhost", server.port()).sslContext(client.sslContext()).build();
  }

  @AfterAll
  static void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
    scheduler.shutdownNow();
  }

  @Test
  void issuesOverBcjsseInApprovedOnlyMode() throws Exception {
    assertThat(server.tlsProvider()).isEqualTo("BCJSSE");
    assertThat(client.sslContext().getClass().getName()).contains("Jdk");
    var response = CaFixture.create(channel, CaFixture.bearer(tokens.token("default", "web"), null),
        TestCsrs.ecP256(WEB).pem(), 3600);
    List<X509Certificate> leaf = CaFixture.parse(response.getCertChain(0));
    assertThat(leaf.getFirst().getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    assertThat(CaFixture.parse(response.getCertChain(1)).getFirst()).isEqualTo(server.ca().roots().getFirst());
    assertThat(server.ca().signingCertificate().getClass().getName()).startsWith("org.bouncycastle.");
  }

  @Test
  void anEd25519CsrIsRefusedByPolicy() throws Exception {
    String csr;
    try (InputStream in = IstioCaFipsTest.class.getResourceAsStream("/csr/ed25519.csr.pem")) {
      csr = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
    assertThatThrownBy(() -> CaFixture.create(channel, CaFixture.bearer(tokens.token("default", "web"), null), csr, 0))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).isEqualTo("the CSR's signature algorithm Ed25519 is not allowed; use"
              + " ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512");
        });
  }

  @Test
  void theBundleEndpointServesOverBcjsse() throws Exception {
    KeyStore store = crypto.newKeyStore();
    store.setCertificateEntry("root", server.ca().roots().getFirst());
    TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX", crypto.tlsProvider());
    trust.init(store);
    SSLContext tls = SSLContext.getInstance("TLS", crypto.tlsProvider());
    tls.init(null, trust.getTrustManagers(), crypto.secureRandom());
    try (HttpClient http = HttpClient.newBuilder().sslContext(tls).build()) {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("https://localhost:"
          + server.bundlePort() + "/")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo(server.bundleJson());
    }
  }
}

package dev.meshguard.ca.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SPIFFE bundle endpoint as an https_web client sees it (SPIFFE_Federation.md §5.2): the JDK's
 * HTTP client with host name verification on, trusting the CA's root (standing in for the Web PKI
 * the profile names), presenting no client certificate and no authorization header.
 */
class BundleEndpointIT {
  @TempDir
  static Path dir;

  static CaFixture ca;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    ca = CaFixture.start(dir, Crypto.install(CryptoMode.DEFAULT));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("root", ca.root());
    TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
    trust.init(store);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, trust.getTrustManagers(), null);
    client = HttpClient.newBuilder().sslContext(tls).build();
  }

  @AfterAll
  static void stop() {
    client.close();
    ca.close();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + ca.server.bundlePort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesTheTrustBundleAsAJwkSetWithX509SvidAndJwtSvidKeys() throws Exception {
    HttpResponse<String> response = get("/");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode bundle = new ObjectMapper().readTree(response.body());
    assertThat(bundle.path("spiffe_refresh_hint").asLong()).isEqualTo(300);
    assertThat(bundle.path("spiffe_sequence").isIntegralNumber()).isTrue();
    assertThat(bundle.path("spiffe_sequence").asLong()).isPositive();
    JsonNode keys = bundle.path("keys");
    assertThat(keys).as("the root's x509-svid key, then its JWT-SVID key").hasSize(2);
    JsonNode jwt = keys.get(1);
    assertThat(jwt.path("use").asText()).isEqualTo("jwt-svid");
    assertThat(jwt.path("kid").asText()).isEqualTo(ca.server.rotation().current().active().jwtKey().keyId());
    assertThat(jwt.has("d")).as("no private part").isFalse();
    JsonNode key = keys.get(0);
    assertThat(key.path("use").asText()).isEqualTo("x509-svid");
    assertThat(key.has("kid")).as("x509-svid keys carry no kid").isFalse();
    assertThat(key.path("x5c")).hasSize(1);
    assertThat(Base64.getDecoder().decode(key.path("x5c").get(0).asText())).isEqualTo(ca.root().getEncoded());

    // A second reader of the JWK Set: Nimbus parses the keys and their x5c, and the key is the root's.
    JWK parsed = JWKSet.parse(response.body()).getKeys().getFirst();
    assertThat(parsed.getKeyUse().identifier()).isEqualTo("x509-svid");
    assertThat(parsed.getParsedX509CertChain().getFirst()).isEqualTo(ca.root());
    assertThat(parsed.toECKey().toECPublicKey()).isEqualTo(ca.root().getPublicKey());
    assertThat(response.body()).isEqualTo(ca.server.bundleJson());
  }

  @Test
  void onlyGetOfTheRootPath() throws Exception {
    HttpResponse<String> post = client.send(HttpRequest.newBuilder(URI.create("https://localhost:"
        + ca.server.bundlePort() + "/")).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    assertThat(get("/keys").statusCode()).isEqualTo(404);
  }

  @Test
  void theServingCertificateIsAnSvidOfThisCaWithTheConfiguredDnsNames() throws Exception {
    var certificate = ca.server.servingCertificate();
    assertThat(certificate.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
        java.util.List.of(6, "spiffe://example.org/meshguard/ca"), java.util.List.of(2, "localhost"));
    certificate.verify(ca.root().getPublicKey());
  }
}

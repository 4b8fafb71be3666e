package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link JwksCache} over {@code https}: the handshake is made by the given {@link ClientTls}'s
 * provider with its trust material, not by the JDK's default {@link SSLContext}.
 */
class JwksCacheTlsTest {

  private static Crypto crypto;

  @TempDir
  Path dir;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TestCa ca;
  private HttpsServer server;
  private String uri;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @BeforeEach
  void start() throws Exception {
    ca = TestCa.create("jwks.test");
    server = httpsJwksServer(crypto, ca.leaf("spiffe://jwks.test/issuer").ipAddress("127.0.0.1").issue(),
        new JWKSet(new ECKeyGenerator(Curve.P_256).keyID("k1").generate().toPublicJWK()).toString());
    uri = "https://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json";
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void anHttpsJwksIsFetchedWithTheCryptosProviderAndTheGivenCa() throws Exception {
    JwksCache cache = new JwksCache(JwtOptions.DEFAULTS, Clock.SYSTEM, new AuthzMetrics(registry),
        ClientTls.load(crypto, "t", ca.writeBundle(dir.resolve("ca.pem")), null, null));

    JWKSet keys = cache.keys(uri, Duration.ofSeconds(20));

    assertThat(keys).isNotNull();
    assertThat(keys.getKeyByKeyId("k1")).isNotNull();
    // The handshake succeeded trusting a CA only the ClientTls knows, on a client whose context is
    // the Crypto's provider (in FIPS mode BCJSSE, where the JDK's default context is SunJSSE).
    assertThat(cache.httpClient().sslContext().getProvider()).isSameAs(crypto.tlsProvider());
  }

  @Test
  void withoutACaTheJvmsTrustStoreIsUsedAndRefusesTheTestCa() throws Exception {
    JwksCache cache = new JwksCache(JwtOptions.DEFAULTS, Clock.SYSTEM, new AuthzMetrics(registry),
        ClientTls.load(crypto, "t", null, null, null));

    assertThat(cache.keys(uri, Duration.ofSeconds(20))).isNull();
    assertThat(registry.counter("meshguard.authz.jwks.fetches", "outcome", "error").count()).isEqualTo(1.0);
  }

  /** A JWKS endpoint over TLS of {@code crypto}'s provider, serving {@code jwks} at every path. */
  static HttpsServer httpsJwksServer(Crypto crypto, TestCert leaf, String jwks) throws Exception {
    byte[] body = jwks.getBytes(StandardCharsets.UTF_8);
    return TestHttpsServers.start(TestHttpsServers.context(crypto, leaf, null), false, exchange -> {
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
  }
}

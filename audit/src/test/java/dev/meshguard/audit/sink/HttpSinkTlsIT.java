package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.audit.AuditOptions;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HttpSink} to an {@code https} collector: the handshake is made by the given
 * {@link ClientTls}'s provider with its trust material, not by the JDK's default {@link SSLContext}.
 */
class HttpSinkTlsIT {
  /** A bound for a loaded machine (a TLS handshake there took seconds); awaits return as soon as it holds. */
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static Crypto crypto;

  @TempDir
  Path dir;

  private TestCa ca;
  private Collector collector;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @BeforeEach
  void startCollector() throws Exception {
    ca = TestCa.create("collector.test");
    collector = Collector.startHttps(serverContext(ca.leaf("spiffe://collector.test/c").ipAddress("127.0.0.1").issue()));
  }

  @AfterEach
  void stopCollector() {
    collector.close();
  }

  private HttpSinkOptions fast() {
    return HttpSinkOptions.to(collector.uri(), dir)
        .withMaxBatchDelay(Duration.ofMillis(20))
        .withPollInterval(Duration.ofMillis(10))
        .withConnectTimeout(Duration.ofSeconds(5))
        .withRequestTimeout(Duration.ofSeconds(10))
        .withCloseTimeout(Duration.ofSeconds(20))
        .withBackoff(new Backoff(Duration.ofMillis(5), Duration.ofMillis(50), 2.0, 0.5));
  }

  @Test
  void anHttpsCollectorIsReachedWithTheCryptosProviderAndTheGivenCa() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM,
            ClientTls.load(crypto, "t", ca.writeBundle(dir.resolve("ca.pem")), null, null))) {
      sink.start();
      log.append(5);
      // The sink records the handshake before it counts the batch as sent.
      Await.until(WAIT, () -> sink.eventsSent() >= 5, () -> "5 events sent, found " + sink.eventsSent());

      assertThat(collector.ids()).hasSize(5);
      // The handshake succeeded trusting a CA only the ClientTls knows, on a client whose context is
      // the Crypto's provider (in FIPS mode BCJSSE, where the JDK's default context is SunJSSE).
      assertThat(sink.httpClient().sslContext().getProvider()).isSameAs(crypto.tlsProvider());
    }
  }

  @Test
  void withoutACaTheJvmsTrustStoreIsUsedAndRefusesTheTestCa() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast().withCloseTimeout(Duration.ofMillis(200)), Clock.SYSTEM,
            ClientTls.load(crypto, "t", null, null, null))) {
      sink.start();
      log.append(3);
      Await.until(WAIT, () -> sink.failures() >= 2, () -> "failed handshakes, found " + sink.failures());

      assertThat(collector.ids()).isEmpty();
      assertThat(sink.eventsSent()).isZero();
    }
  }

  /** A server context of the mode's provider presenting {@code leaf}. */
  private static SSLContext serverContext(TestCert leaf) throws Exception {
    char[] password = "collector-test-password".toCharArray();
    KeyStore keys = crypto.newKeyStore();
    keys.setKeyEntry("collector", leaf.privateKey(), password, leaf.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", crypto.tlsProvider());
    kmf.init(keys, password);
    SSLContext context = SSLContext.getInstance("TLS", crypto.tlsProvider());
    context.init(kmf.getKeyManagers(), null, crypto.secureRandom());
    return context;
  }
}

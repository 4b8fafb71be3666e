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
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HttpSink} to an {@code https} collector in FIPS mode, in the approved-only failsafe fork:
 * the sink's client TLS is BCJSSE on the approved-only BCFIPS (the {@link ClientTls} that
 * {@link AuditSinks} builds from the server's {@link Crypto}), it ships to a real HTTPS receiver with
 * an approved protocol and suite, and a receiver that offers only suites FIPS does not approve
 * (ChaCha20-Poly1305) gets nothing.
 *
 * <p>The receivers run on the JDK's SunJSSE, not on BCJSSE: SunJSSE offers ChaCha20-Poly1305 and
 * its own order of suites, so what is negotiated is limited by the sink's side alone.
 */
@Tag("fips")
class HttpSinkTlsFipsIT {

  /** NIST SP 800-52 Rev. 2, 3.3.1: TLS 1.3 AES-GCM/CCM suites, and TLS 1.2 ECDHE AES-GCM ones. */
  private static final Set<String> APPROVED = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
      "TLS_AES_128_CCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  /** Every ChaCha20-Poly1305 suite SunJSSE has, for TLS 1.3 and 1.2: none is approved. */
  private static final List<String> CHACHA_ONLY = List.of("TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  /** Generous: a bound for a loaded machine, not a timing assertion; passing runs take a second or two. */
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static Crypto crypto;
  private static Provider sunJsse;

  @TempDir
  Path dir;

  private TestCa ca;
  private TestCert leaf;
  private Collector collector;

  @BeforeAll
  static void fips() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    sunJsse = Security.getProvider("SunJSSE");
  }

  @BeforeEach
  void certificates() throws Exception {
    ca = TestCa.create("collector.test");
    leaf = ca.leaf("spiffe://collector.test/c").ipAddress("127.0.0.1").issue();
  }

  @AfterEach
  void stop() {
    if (collector != null) {
      collector.close();
    }
  }

  private HttpSinkOptions fast() {
    return HttpSinkOptions.to(collector.uri(), dir)
        .withMaxBatchDelay(Duration.ofMillis(20))
        .withPollInterval(Duration.ofMillis(10))
        .withConnectTimeout(Duration.ofSeconds(10))
        .withRequestTimeout(Duration.ofSeconds(20))
        .withCloseTimeout(Duration.ofMillis(500))
        .withBackoff(new Backoff(Duration.ofMillis(5), Duration.ofMillis(50), 2.0, 0.5));
  }

  private ClientTls sinkTls() throws Exception {
    return ClientTls.load(crypto, AuditSinks.HTTP_TLS_SETTING, ca.writeBundle(dir.resolve("ca.pem")), null, null);
  }

  @Test
  void thisJvmIsApprovedOnlyAndTheSinksTlsIsBcjsse() throws Exception {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    assertThat(crypto.tlsProvider().getName()).isEqualTo("BCJSSE");
    assertThat(sunJsse).as("the receivers' provider").isNotNull();
  }

  @Test
  void theSinkShipsOverBcjsseWithAnApprovedSuite() throws Exception {
    collector = Collector.startHttps(receiverContext(), List.of());
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast().withCloseTimeout(Duration.ofSeconds(20)), Clock.SYSTEM, sinkTls())) {
      sink.start();
      List<String> appended = log.append(5);
      Await.until(WAIT, () -> sink.eventsSent() >= 5, () -> "5 events sent, found " + sink.eventsSent());

      assertThat(collector.ids()).containsAll(appended);
      assertThat(sink.httpClient().sslContext().getProvider().getName())
          .as("the client's TLS is the FIPS provider's, not the JDK's default SunJSSE").isEqualTo("BCJSSE");
      assertThat(collector.negotiated()).isNotEmpty().allSatisfy(negotiated -> {
        assertThat(negotiated.split(" ")[0]).isIn("TLSv1.3", "TLSv1.2");
        assertThat(negotiated.split(" ")[1]).isIn(APPROVED);
      });
    }
  }

  @Test
  void aReceiverOfferingOnlyUnapprovedSuitesGetsNothing() throws Exception {
    SSLContext receiver = receiverContext();
    collector = Collector.startHttps(receiver, CHACHA_ONLY);
    // The receiver works: a SunJSSE client in this JVM completes a handshake with it on ChaCha20.
    assertThat(sunJsseHandshake(collector.uri().getPort())).isEqualTo("TLS_CHACHA20_POLY1305_SHA256");

    // Why each POST failed is only in the sink's log (a connect timeout on a loaded machine counts as a
    // failure too), so the test reads it there.
    Logger logger = Logger.getLogger(HttpSink.class.getName());
    List<String> logged = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        logged.add(record.getMessage());
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Level level = logger.getLevel();
    logger.setLevel(Level.FINE); // the sink logs repeated failures at FINE
    logger.addHandler(handler);
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM, sinkTls())) {
      sink.start();
      log.append(3);
      // BCJSSE offers no ChaCha20 suite in FIPS mode, so the receiver finds no common suite and says so.
      Await.until(WAIT, () -> logged.stream().anyMatch(m -> m.contains("handshake_failure")),
          () -> "a refused handshake in the sink's log, found " + logged);

      assertThat(sink.failures()).isPositive();
      assertThat(collector.ids()).isEmpty();
      assertThat(collector.negotiated()).isEmpty();
      assertThat(sink.eventsSent()).isZero();
      assertThat(sink.acknowledgedSeq()).isZero();
    } finally {
      logger.removeHandler(handler);
      logger.setLevel(level);
    }
  }

  /** A SunJSSE server context presenting {@link #leaf}. */
  private SSLContext receiverContext() throws Exception {
    char[] password = "collector-test-password".toCharArray();
    KeyStore keys = crypto.newKeyStore();
    keys.setKeyEntry("collector", leaf.privateKey(), password, leaf.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", sunJsse);
    kmf.init(keys, password);
    SSLContext context = SSLContext.getInstance("TLS", sunJsse);
    context.init(kmf.getKeyManagers(), null, null);
    return context;
  }

  /** One SunJSSE client handshake with the receiver on {@code port}; the negotiated suite. */
  private String sunJsseHandshake(int port) throws Exception {
    KeyStore trust = crypto.newKeyStore();
    trust.setCertificateEntry("ca", ca.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX", sunJsse);
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS", sunJsse);
    context.init(null, tmf.getTrustManagers(), null);
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
        port)) {
      socket.startHandshake();
      return socket.getSession().getCipherSuite();
    }
  }
}

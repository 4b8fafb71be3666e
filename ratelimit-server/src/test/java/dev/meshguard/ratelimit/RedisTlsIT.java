package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.testkit.redis.RedisServerProcess;
import dev.meshguard.testkit.tls.TestCa;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code rediss://}: a real {@code redis-server} serving TLS ({@code --tls-port}; testkit's binary,
 * from the embedded-redis artifact, is built with TLS) with a certificate from a test CA. With
 * {@code ratelimit.redis.tls_ca} naming that CA the store decides requests over TLS; with another
 * CA it refuses the server and says why. The FIPS-mode twin is {@link RedisTlsFipsIT}.
 */
class RedisTlsIT {
  static final String CONFIG = """
      domain: d
      descriptors:
        - key: k
          rate_limit: {unit: minute, requests_per_unit: 2}
      """;

  /** {@code redis-server} arguments: TLS 1.3 with ChaCha20-Poly1305 only, a suite FIPS does not approve. */
  static final String[] CHACHA_ONLY = {"--tls-protocols", "TLSv1.3", "--tls-ciphersuites",
      "TLS_CHACHA20_POLY1305_SHA256"};

  private static TlsRedis tls;
  private static Path dir;
  private static RedisServerProcess redis;

  @BeforeAll
  static void startTlsRedis() throws Exception {
    tls = TlsRedis.start();
    dir = tls.dir;
    redis = tls.redis;
  }

  @AfterAll
  static void stop() {
    if (tls != null) {
      tls.close();
    }
  }

  private static StoreUri tlsUri() {
    return tls.uri();
  }

  @Test
  void rediss_withTheServersCaDecidesRequestsOverTls() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    RedisOptions options = RedisConformanceIT.TEST_OPTIONS.withTlsCa(dir.resolve("ca.pem"));
    long scriptCallsBefore = CommandStats.scriptCalls(redis.redisUri());
    try (RedisStore store = RedisStore.connect(tlsUri(), options)) {
      assertThat(store.connected()).as("connected over TLS at once").isTrue();
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
      List<Descriptor> request = List.of(Descriptor.of("k", "tls"));
      RateLimitDecision first = engine.decide("d", request, 1);
      RateLimitDecision second = engine.decide("d", request, 1);
      RateLimitDecision third = engine.decide("d", request, 1);
      assertThat(List.of(first, second, third)).extracting(RateLimitDecision::storeFailed)
          .containsExactly(false, false, false);
      assertThat(List.of(first, second, third)).extracting(RateLimitDecision::overallCode)
          .containsExactly(Code.OK, Code.OK, Code.OVER_LIMIT);
      assertThat(first.statuses().getFirst().limitRemaining()).isEqualTo(1);
      assertThat(store.tlsNegotiated()).as("default mode: the JDK's own JSSE made the handshake").isNotNull()
          .extracting(ClientTls.Negotiated::sessionClass).asString().startsWith("sun.security.ssl.");
    }
    assertThat(CommandStats.scriptCalls(redis.redisUri()) - scriptCallsBefore)
        .as("the decisions were made by this Redis (its script calls, counted on the plain port)")
        .isGreaterThanOrEqualTo(3);
  }

  @Test
  void rediss_refusesAServerCertificateFromAnotherCaAndSaysWhy() throws Exception {
    Path otherCa = TestCa.create("redis.test").writeBundle(dir.resolve("other-ca.pem"));
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    try (RedisStore store = RedisStore.connect(tlsUri(), RedisConformanceIT.TEST_OPTIONS.withTlsCa(otherCa))) {
      assertThat(store.connected()).isFalse();
      List<Hit> hits = List.of(new Hit(CounterKey.of("d", List.of(new Descriptor.Entry("k", "v"))),
          Algorithm.FIXED_WINDOW, 2, 2, 60, 1));
      assertThatThrownBy(() -> store.hit(hits, clock.millis()))
          .isInstanceOf(StoreException.class)
          .hasMessage("not connected to " + tlsUri() + ": TLS handshake failed: the server's certificate is not"
              + " trusted: it does not chain to the CA certificates in ratelimit.redis.tls_ca (" + otherCa
              + ") (unable to find valid certification path to requested target)");
      RateLimitDecision decision = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY)
          .decide("d", List.of(Descriptor.of("k", "v")), 1);
      assertThat(decision.storeFailed()).isTrue();
      assertThat(decision.overallCode()).isEqualTo(Code.OVER_LIMIT);
    }
  }

  @Test
  void rediss_inDefaultModeNegotiatesChaCha20WhichFipsModeRefuses() throws Exception {
    try (TlsRedis chachaOnly = TlsRedis.start(CHACHA_ONLY);
        RedisStore store = RedisStore.connect(chachaOnly.uri(),
            RedisConformanceIT.TEST_OPTIONS.withTlsCa(chachaOnly.caFile))) {
      assertThat(store.connected()).as("SunJSSE offers ChaCha20-Poly1305: the refusal in RedisTlsFipsIT is FIPS's")
          .isTrue();
      assertThat(store.tlsNegotiated()).extracting(ClientTls.Negotiated::protocol, ClientTls.Negotiated::cipherSuite)
          .containsExactly("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256");
    }
  }
}

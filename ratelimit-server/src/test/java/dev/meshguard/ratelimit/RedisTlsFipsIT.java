package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.ClientTls;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code rediss://} in FIPS mode, in the approved-only failsafe fork: the store's TLS is BCJSSE on
 * the approved-only BCFIPS (the {@link Crypto} passed to {@link RedisStore#connect(StoreUri,
 * RedisOptions, Crypto)}), against a real TLS {@code redis-server}. Rate limiting works over it,
 * the handshake is BCJSSE's with an approved protocol and suite, and a Redis that offers only a
 * suite FIPS does not approve (ChaCha20-Poly1305, which {@link RedisTlsIT} shows the default mode
 * negotiating) is refused.
 */
@Tag("fips")
class RedisTlsFipsIT {

  /**
   * The TLS 1.3 suites NIST SP 800-52 Rev. 2 (section 3.3.1.2) approves, and the AES-GCM ECDHE
   * suites it lists for TLS 1.2 (3.3.1.1) that both BCJSSE and Redis's OpenSSL offer.
   */
  private static final Set<String> APPROVED = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
      "TLS_AES_128_CCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");

  private static Crypto crypto;
  private static TlsRedis tls;

  @BeforeAll
  static void start() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    tls = TlsRedis.start();
  }

  @AfterAll
  static void stop() {
    if (tls != null) {
      tls.close();
    }
  }

  @Test
  void thisJvmIsApprovedOnlyAndTlsIsBcjsse() {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    assertThat(crypto.tlsProvider().getName()).isEqualTo("BCJSSE");
  }

  @Test
  void rediss_inFipsModeDecidesRequestsOverBcjsseWithAnApprovedSuite() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RedisTlsIT.CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    long scriptCallsBefore = CommandStats.scriptCalls(tls.redis.redisUri());
    try (RedisStore store = RedisStore.connect(tls.uri(), RedisConformanceIT.TEST_OPTIONS.withTlsCa(tls.caFile),
        crypto)) {
      assertThat(store.connected()).as("connected over TLS at once").isTrue();
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
      List<Descriptor> request = List.of(Descriptor.of("k", "fips"));
      List<RateLimitDecision> decisions = List.of(engine.decide("d", request, 1), engine.decide("d", request, 1),
          engine.decide("d", request, 1));
      assertThat(decisions).extracting(RateLimitDecision::storeFailed).containsExactly(false, false, false);
      assertThat(decisions).extracting(RateLimitDecision::overallCode)
          .containsExactly(Code.OK, Code.OK, Code.OVER_LIMIT);

      ClientTls.Negotiated negotiated = store.tlsNegotiated();
      assertThat(negotiated).as("a handshake was seen").isNotNull();
      assertThat(negotiated.sessionClass()).as("BCJSSE made the handshake, not the JDK's SunJSSE")
          .startsWith("org.bouncycastle.jsse.provider.");
      assertThat(negotiated.protocol()).isIn("TLSv1.3", "TLSv1.2");
      assertThat(negotiated.cipherSuite()).isIn(APPROVED);
    }
    assertThat(CommandStats.scriptCalls(tls.redis.redisUri()) - scriptCallsBefore)
        .as("the decisions were made by this Redis (its script calls, counted on the plain port)")
        .isGreaterThanOrEqualTo(3);
  }

  @Test
  void rediss_inFipsModeRefusesARedisThatOffersOnlyAnUnapprovedSuite() throws Exception {
    try (TlsRedis chachaOnly = TlsRedis.start(RedisTlsIT.CHACHA_ONLY);
        RedisStore store = RedisStore.connect(chachaOnly.uri(),
            RedisConformanceIT.TEST_OPTIONS.withTlsCa(chachaOnly.caFile), crypto)) {
      assertThat(store.connected()).isFalse();
      assertThat(store.tlsNegotiated()).isNull();
      List<Hit> hits = List.of(new Hit(CounterKey.of("d", List.of(new Descriptor.Entry("k", "v"))),
          Algorithm.FIXED_WINDOW, 2, 2, 60, 1));
      assertThatThrownBy(() -> store.hit(hits, 1_700_000_000_000L))
          .isInstanceOf(StoreException.class)
          .hasMessageStartingWith("not connected to " + chachaOnly.uri() + ": TLS handshake failed: ");
    }
  }
}

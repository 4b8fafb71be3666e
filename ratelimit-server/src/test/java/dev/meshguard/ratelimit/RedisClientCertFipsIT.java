package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.testkit.tls.CertFiles;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link RedisClientCertIT} in FIPS mode, in the approved-only failsafe fork: the client
 * certificate and its key are read through the approved-only BCFIPS and presented by BCJSSE to a
 * real {@code redis-server} with {@code tls-auth-clients yes}; without them Redis refuses the store.
 */
@Tag("fips")
class RedisClientCertFipsIT {

  private static Crypto crypto;
  private static TlsRedis tls;
  private static CertFiles client;

  @BeforeAll
  static void start() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    tls = TlsRedis.startRequiringClientCertificates();
    client = tls.issueClient("meshguard");
  }

  @AfterAll
  static void stop() {
    if (tls != null) {
      tls.close();
    }
  }

  @Test
  void inFipsModeBcjssePresentsTheClientCertificateAndTheStoreDecidesRequests() throws Exception {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    try (RedisStore store = RedisStore.connect(tls.uri(),
        RedisClientCertIT.trustingRedis(tls).withTlsClientCertificate(client.chain(), client.key()), crypto)) {
      RedisClientCertIT.awaitConnected(store, "connected with the client certificate");
      RedisClientCertIT.assertRedisDecides(store, tls);
      assertThat(store.tlsNegotiated()).as("a handshake was seen").isNotNull()
          .extracting(ClientTls.Negotiated::sessionClass).asString()
          .as("BCJSSE made the handshake, not the JDK's SunJSSE").startsWith("org.bouncycastle.jsse.provider.");
    }
  }

  @Test
  void inFipsModeWithoutAClientCertificateRedisRefusesTheStore() throws Exception {
    try (RedisStore store = RedisStore.connect(tls.uri(), RedisClientCertIT.trustingRedis(tls), crypto)) {
      RedisClientCertIT.assertRefusedAndAnsweredBy(store, tls.uri(), tls, FailureMode.DENY);
    }
  }
}

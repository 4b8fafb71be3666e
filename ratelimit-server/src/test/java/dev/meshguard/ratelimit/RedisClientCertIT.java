package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import dev.meshguard.testkit.redis.RedisServerProcess;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code rediss://} to a Redis that requires client certificates ({@code tls-auth-clients yes}, as
 * managed Redis offerings and hardened installs set it): a real {@code redis-server} ({@link
 * TlsRedis}). With {@code ratelimit.redis.tls_client_certificate} and {@code tls_private_key} the
 * store decides requests; without them, or with a certificate of another CA, Redis refuses the
 * connection and every request is answered by the failure mode. The FIPS-mode twin is {@link
 * RedisClientCertFipsIT}.
 */
class RedisClientCertIT {

  private static final String MASTER = "meshguard";

  private static TlsRedis tls;
  private static CertFiles client;
  private static RedisServerProcess sentinel;
  private static int sentinelTlsPort;

  @BeforeAll
  static void start() throws Exception {
    tls = TlsRedis.startRequiringClientCertificates();
    client = tls.issueClient("meshguard");
    sentinelTlsPort = FreePorts.port();
    // One Sentinel is enough to name the master (quorum 1); it reaches the master over TLS
    // (tls-replication) with its own certificate, which has clientAuth as well.
    sentinel = RedisServerProcess.startWithConfigFile(
        "sentinel monitor " + MASTER + " " + RedisServerProcess.HOST + " " + tls.tlsPort + " 1\n",
        List.of("--sentinel", "--tls-port", Integer.toString(sentinelTlsPort),
            "--tls-cert-file", tls.server.chain().toString(), "--tls-key-file", tls.server.key().toString(),
            "--tls-ca-cert-file", tls.caFile.toString(), "--tls-auth-clients", "yes", "--tls-replication", "yes"));
  }

  @AfterAll
  static void stop() {
    if (sentinel != null) {
      sentinel.close();
    }
    if (tls != null) {
      tls.close();
    }
  }

  private static StoreUri sentinelUri() {
    return StoreUri.parse("rediss-sentinel://" + RedisServerProcess.HOST + ":" + sentinelTlsPort + "/" + MASTER);
  }

  static RedisOptions trustingRedis(TlsRedis redis) {
    return RedisConformanceIT.TEST_OPTIONS.withTlsCa(redis.caFile);
  }

  /**
   * Waits for the store's connection: a cold JVM's first TLS handshake can take longer than the
   * connect timeout on a loaded machine, and the store then connects on its next attempt (1 s later).
   */
  static void awaitConnected(RedisStore store, String what) {
    Await.until(Duration.ofSeconds(30), store::connected, () -> what + ": " + store);
  }

  /** Three decisions on a limit of 2 per minute, all by Redis (none by the failure mode). */
  static void assertRedisDecides(RedisStore store, TlsRedis redis) throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RedisTlsIT.CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    long scriptCallsBefore = CommandStats.scriptCalls(redis.redis.redisUri());
    RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
    List<Descriptor> request = List.of(Descriptor.of("k", "client-cert-" + System.nanoTime()));
    List<RateLimitDecision> decisions = List.of(engine.decide("d", request, 1), engine.decide("d", request, 1),
        engine.decide("d", request, 1));
    assertThat(decisions).extracting(RateLimitDecision::storeFailed).containsExactly(false, false, false);
    assertThat(decisions).extracting(RateLimitDecision::overallCode)
        .containsExactly(Code.OK, Code.OK, Code.OVER_LIMIT);
    assertThat(CommandStats.scriptCalls(redis.redis.redisUri()) - scriptCallsBefore)
        .as("the decisions were made by this Redis (its script calls, counted on the plain port)")
        .isGreaterThanOrEqualTo(3);
  }

  /**
   * Redis refused the store: it is not connected, a request is answered by {@code mode} and counted
   * as a store error, and no script ran. Why is not compared: over TLS 1.3 Redis checks the client
   * certificate after the client's handshake is done, so its alert ({@code certificate_required},
   * {@code unknown_ca}) races with the connection closing, and an attempt may only see "Connection
   * closed prematurely" (seen on cluster retries).
   */
  static void assertRefusedAndAnsweredBy(RedisStore store, StoreUri uri, TlsRedis redis, FailureMode mode)
      throws Exception {
    assertThat(store.connected()).as("Redis refused the connection").isFalse();
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RedisTlsIT.CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    long scriptCallsBefore = CommandStats.scriptCalls(redis.redis.redisUri());
    RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, mode);
    RateLimitDecision decision = engine.decide("d", List.of(Descriptor.of("k", "refused")), 1);
    assertThat(decision.storeFailed()).as("answered by the failure mode").isTrue();
    assertThat(decision.overallCode()).isEqualTo(mode == FailureMode.ALLOW ? Code.OK : Code.OVER_LIMIT);
    assertThat(engine.storeErrors()).isEqualTo(1);
    assertThat(CommandStats.scriptCalls(redis.redis.redisUri()) - scriptCallsBefore)
        .as("nothing reached Redis's scripts").isZero();
    List<Hit> hits = List.of(new Hit(CounterKey.of("d", List.of(new Descriptor.Entry("k", "v"))),
        Algorithm.FIXED_WINDOW, 2, 2, 60, 1));
    assertThatThrownBy(() -> store.hit(hits, clock.millis())).isInstanceOf(StoreException.class)
        .hasMessageStartingWith("not connected to " + uri + ": ");
  }

  @Test
  void withAClientCertificateTheStoreDecidesRequests() throws Exception {
    try (RedisStore store = RedisStore.connect(tls.uri(),
        trustingRedis(tls).withTlsClientCertificate(client.chain(), client.key()))) {
      awaitConnected(store, "connected with the client certificate");
      assertRedisDecides(store, tls);
    }
  }

  @ParameterizedTest
  @EnumSource(FailureMode.class)
  void withoutAClientCertificateRedisRefusesTheStoreAndTheFailureModeAnswers(FailureMode mode) throws Exception {
    try (RedisStore store = RedisStore.connect(tls.uri(), trustingRedis(tls))) {
      assertRefusedAndAnsweredBy(store, tls.uri(), tls, mode);
    }
  }

  @Test
  void aClientCertificateOfAnotherCaIsRefusedByRedis() throws Exception {
    Path dir = tls.dir.resolve("other");
    java.nio.file.Files.createDirectories(dir);
    CertFiles stranger = TestCa.create("other.test").leaf("spiffe://other.test/meshguard").issue()
        .writeTo(dir, "stranger");
    try (RedisStore store = RedisStore.connect(tls.uri(),
        trustingRedis(tls).withTlsClientCertificate(stranger.chain(), stranger.key()))) {
      assertRefusedAndAnsweredBy(store, tls.uri(), tls, FailureMode.DENY);
    }
  }

  @Test
  void sentinel_withAClientCertificateTheStoreFindsTheMasterAndDecidesRequests() throws Exception {
    try (RedisStore store = RedisStore.connect(sentinelUri(),
        trustingRedis(tls).withTlsClientCertificate(client.chain(), client.key()))) {
      awaitConnected(store, "connected through the Sentinel with the client certificate");
      assertRedisDecides(store, tls);
    }
  }

  @Test
  void sentinel_withoutAClientCertificateTheFailureModeAnswers() throws Exception {
    try (RedisStore store = RedisStore.connect(sentinelUri(), trustingRedis(tls))) {
      assertRefusedAndAnsweredBy(store, sentinelUri(), tls, FailureMode.ALLOW);
    }
  }

  @Test
  void aMissingKeyFileOrAKeyOfAnotherCertificateStopsTheStoreNamingTheFile() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    Path missing = tls.dir.resolve("missing.key");
    ConfigException absent = catchThrowableOfType(ConfigException.class, () -> RedisStore.connect(tls.uri(),
        trustingRedis(tls).withTlsClientCertificate(client.chain(), missing), crypto));
    assertThat(absent.errors()).extracting(ConfigError::render).singleElement().asString().contains(missing.toString());
    CertFiles other = tls.issueClient("other");
    ConfigException mismatched = catchThrowableOfType(ConfigException.class, () -> RedisStore.connect(tls.uri(),
        trustingRedis(tls).withTlsClientCertificate(client.chain(), other.key()), crypto));
    assertThat(mismatched.errors()).extracting(ConfigError::render).singleElement().asString()
        .contains(other.key().toString()).contains("does not belong to the certificate");
  }
}

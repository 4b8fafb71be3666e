package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import dev.meshguard.testkit.redis.RedisServerProcess;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code rediss-cluster://} to a Redis Cluster whose nodes require client certificates: three
 * masters (no replicas) serving TLS with {@code tls-cluster yes}, so the cluster announces the TLS
 * ports and the nodes speak TLS on the bus too, and {@code tls-auth-clients yes}. testkit's
 * {@code RedisCluster} has no TLS, so the nodes are joined here the way it joins its own
 * (ADDSLOTS, SET-CONFIG-EPOCH, MEET), over their plain ports. With the client certificate the store
 * reaches every master and decides requests; without it Redis refuses it and the failure mode answers.
 */
class RedisClusterClientCertIT {

  private static final int MASTERS = 3;
  /** With {@code tls-cluster yes} a node's cluster bus listens on its TLS port + 10000. */
  private static final int BUS_PORT_OFFSET = 10_000;

  private static Path dir;
  private static Path caFile;
  private static CertFiles client;
  private static final List<RedisServerProcess> nodes = new ArrayList<>();
  private static final List<Integer> tlsPorts = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    dir = Files.createTempDirectory("meshguard-redis-cluster-tls-");
    TestCa ca = TestCa.create("redis.test");
    CertFiles server = ca.leaf("spiffe://redis.test/redis").ipAddress(RedisServerProcess.HOST).issue()
        .writeTo(dir, "redis");
    caFile = ca.writeBundle(dir.resolve("ca.pem"));
    client = ca.leaf("spiffe://redis.test/meshguard").issue().writeTo(dir, "meshguard");
    for (int port : FreePorts.pairedPorts(MASTERS, BUS_PORT_OFFSET)) {
      tlsPorts.add(port);
      nodes.add(RedisServerProcess.start(List.of("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", "1000", "--tls-port", Integer.toString(port), "--tls-cluster", "yes",
          "--tls-replication", "yes", "--tls-cert-file", server.chain().toString(),
          "--tls-key-file", server.key().toString(), "--tls-ca-cert-file", caFile.toString(),
          "--tls-auth-clients", "yes",
          // Redis 6.2 announces the plain port even with tls-cluster (7.0 announces the TLS one to
          // TLS clients): announce the TLS port, and the bus where it listens (TLS port + 10000).
          "--cluster-announce-port", Integer.toString(port),
          "--cluster-announce-bus-port", Integer.toString(port + BUS_PORT_OFFSET))));
    }
    for (int i = 0; i < MASTERS; i++) {
      int epoch = i + 1;
      int[] slots = IntStream.range(i * SlotHash.SLOT_COUNT / MASTERS, (i + 1) * SlotHash.SLOT_COUNT / MASTERS)
          .toArray();
      on(nodes.get(i), c -> c.clusterSetConfigEpoch(epoch) + c.clusterAddSlots(slots));
    }
    for (int i = 1; i < MASTERS; i++) {
      int port = tlsPorts.get(i);
      on(nodes.getFirst(), c -> c.clusterMeet(RedisServerProcess.HOST, port));
    }
    Await.until(Duration.ofSeconds(60), () -> nodes.stream().allMatch(n -> on(n, c -> c.clusterInfo())
        .contains("cluster_state:ok")), () -> "every TLS cluster node to report cluster_state:ok: " + nodes.stream()
        .map(n -> on(n, c -> c.clusterInfo()).lines().limit(3).collect(Collectors.joining(" ")))
        .toList());
  }

  /** Runs an admin command on a node's plain port (TLS clients must show a certificate; this one need not). */
  private static String on(RedisServerProcess node,
      Function<io.lettuce.core.api.sync.RedisCommands<String, String>, String> command) {
    RedisClient admin = RedisClient.create(node.redisUri());
    try (StatefulRedisConnection<String, String> connection = admin.connect()) {
      return command.apply(connection.sync());
    } finally {
      admin.shutdown();
    }
  }

  @AfterAll
  static void stop() {
    nodes.forEach(RedisServerProcess::close);
  }

  private static StoreUri uri() {
    return StoreUri.parse("rediss-cluster://" + tlsPorts.stream().map(p -> RedisServerProcess.HOST + ":" + p)
        .collect(Collectors.joining(",")));
  }

  private static RedisOptions options() {
    return RedisConformanceIT.TEST_OPTIONS.withTlsCa(caFile);
  }

  private static long scriptCalls() {
    return nodes.stream().mapToLong(n -> CommandStats.scriptCalls(n.redisUri())).sum();
  }

  @Test
  void withAClientCertificateTheStoreDecidesRequestsOnEveryMaster() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RedisTlsIT.CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    long before = scriptCalls();
    try (RedisStore store = RedisStore.connect(uri(), options().withTlsClientCertificate(client.chain(),
        client.key()))) {
      RedisClientCertIT.awaitConnected(store, "connected to every master with the client certificate");
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
      // The store opens the masters' connections after connecting and refuses commands for one
      // still opening: wait until thirty keys (spread over all three masters' slots) are answered.
      List<List<Descriptor>> warmUps = IntStream.range(0, 30)
          .mapToObj(i -> List.of(Descriptor.of("k", "warm-up-" + i))).toList();
      Await.until(Duration.ofSeconds(30), () -> warmUps.stream().noneMatch(r -> engine.decide("d", r, 1).storeFailed()),
          () -> "every master to answer over TLS");
      // Descriptors whose counters land on different masters, three decisions each.
      for (String value : List.of("a", "b", "c", "d", "e", "f")) {
        List<Descriptor> request = List.of(Descriptor.of("k", value));
        List<RateLimitDecision> decisions = List.of(engine.decide("d", request, 1), engine.decide("d", request, 1),
            engine.decide("d", request, 1));
        assertThat(decisions).as(value).extracting(RateLimitDecision::storeFailed)
            .containsExactly(false, false, false);
        assertThat(decisions).as(value).extracting(RateLimitDecision::overallCode)
            .containsExactly(Code.OK, Code.OK, Code.OVER_LIMIT);
      }
    }
    assertThat(scriptCalls() - before).as("the decisions were made by the cluster's masters")
        .isGreaterThanOrEqualTo(18);
  }

  @Test
  void withoutAClientCertificateTheClusterRefusesTheStoreAndTheFailureModeAnswers() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RedisTlsIT.CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    long before = scriptCalls();
    try (RedisStore store = RedisStore.connect(uri(), options())) {
      assertThat(store.connected()).isFalse();
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.ALLOW);
      RateLimitDecision decision = engine.decide("d", List.of(Descriptor.of("k", "refused")), 1);
      assertThat(decision.storeFailed()).isTrue();
      assertThat(decision.overallCode()).isEqualTo(Code.OK);
      assertThat(engine.storeErrors()).isEqualTo(1);
      List<Hit> hits = List.of(new Hit(CounterKey.of("d", List.of(new Descriptor.Entry("k", "v"))),
          Algorithm.FIXED_WINDOW, 2, 2, 60, 1));
      assertThatThrownBy(() -> store.hit(hits, clock.millis())).isInstanceOf(StoreException.class)
          .hasMessageStartingWith("not connected to " + uri() + ": ");
    }
    assertThat(scriptCalls() - before).as("nothing reached the cluster's scripts").isZero();
  }
}

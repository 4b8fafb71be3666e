package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions.RefreshTrigger;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RedisClusterIT {
  @RegisterExtension
  static final RedisClusterExtension cluster = RedisClusterExtension.threeMastersThreeReplicas();

  private static final Duration CLIENT_CATCH_UP = Duration.ofSeconds(15);

  /** For plain connections to single nodes. */
  private static RedisClient client;

  private RedisClusterClient clusterClient;
  private StatefulRedisClusterConnection<String, String> connection;
  private RedisAdvancedClusterCommands<String, String> commands;

  @BeforeAll
  static void createClient() {
    client = RedisClient.create();
  }

  @AfterAll
  static void shutDownClient() {
    client.shutdown();
  }

  @BeforeEach
  void connect() {
    clusterClient = RedisClusterClient.create(cluster.seedUris());
    // The client must notice a failover by itself: on MOVED, reconnect attempts and the like
    // (Lettuce 7 enables all adaptive triggers by default), and every half second in case
    // nothing triggers it.
    ClusterTopologyRefreshOptions refresh =
        ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(Duration.ofMillis(500))
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(100))
            .build();
    assertThat(refresh.getAdaptiveRefreshTriggers())
        .containsExactlyInAnyOrder(RefreshTrigger.values());
    clusterClient.setOptions(
        ClusterClientOptions.builder().topologyRefreshOptions(refresh).build());
    connection = clusterClient.connect();
    connection.setTimeout(Duration.ofSeconds(2));
    commands = connection.sync();
  }

  @AfterEach
  void disconnect() {
    connection.close();
    clusterClient.shutdown();
  }

  @Test
  void startsThreeMastersEachWithOneReplica() {
    List<ClusterNode> masters = cluster.masters();

    assertThat(cluster.nodes()).hasSize(6).doesNotHaveDuplicates();
    assertThat(masters).hasSize(3);
    assertThat(cluster.replicas()).hasSize(3).doesNotContainAnyElementsOf(masters);
    for (ClusterNode master : masters) {
      assertThat(cluster.replicasOf(master)).hasSize(1);
    }
    for (ClusterNode node : cluster.nodes()) {
      assertThat(cluster.node(node.port())).isEqualTo(node);
      assertThat(node.id()).hasSize(40);
    }
  }

  @Test
  void servesKeysSpreadOverAllMasters() {
    Map<String, ClusterNode> owners = new LinkedHashMap<>();
    for (int i = 0; i < 30; i++) {
      String key = "spread-" + i;
      assertThat(commands.set(key, "value-" + i)).isEqualTo("OK");
      owners.put(key, cluster.masterForKey(key));
    }

    assertThat(Set.copyOf(owners.values())).containsExactlyInAnyOrderElementsOf(cluster.masters());
    for (Map.Entry<String, ClusterNode> owner : owners.entrySet()) {
      String key = owner.getKey();
      assertThat(commands.get(key)).isEqualTo("value-" + key.substring("spread-".length()));
      // Asked directly, without redirection, the owner holds the key.
      long held = onNode(owner.getValue(), c -> c.exists(key));
      assertThat(held).as(key).isEqualTo(1L);
    }
  }

  @Test
  void survivesTheCrashOfAMasterAndTheCrashedNodeRejoinsAsAReplica() {
    String key = "failover";
    ClusterNode victim = cluster.masterForKey(key);
    ClusterNode replica = cluster.replicasOf(victim).getFirst();
    commands.set(key, "before the crash");
    Await.until(
        Duration.ofSeconds(5),
        () ->
            "before the crash".equals(onNode(replica, c -> c.readOnly() + c.get(key)).substring(2)),
        () -> "the write to reach " + replica);

    cluster.kill(victim);
    ClusterNode promoted = cluster.awaitFailover(victim);

    assertThat(promoted).isEqualTo(replica);
    assertThat(cluster.masters()).hasSize(3).contains(promoted).doesNotContain(victim);
    assertThat(cluster.masterForKey(key)).isEqualTo(promoted);
    Await.until(
        CLIENT_CATCH_UP,
        () -> "before the crash".equals(commands.get(key)),
        () -> "the cluster client to read " + key + " from " + promoted);
    Set<String> keysOfTheSlotRange = keysServedBy(promoted);
    for (String other : keysOfTheSlotRange) {
      assertThat(commands.set(other, "after the crash")).isEqualTo("OK");
      assertThat(commands.get(other)).isEqualTo("after the crash");
    }

    cluster.restart(victim);

    assertThat(cluster.replicasOf(promoted)).containsExactly(victim);
    assertThat(cluster.masters()).hasSize(3).contains(promoted).doesNotContain(victim);
    for (String other : keysOfTheSlotRange) {
      assertThat(commands.get(other)).isEqualTo("after the crash");
    }
  }

  /** A few keys whose slots {@code master} serves, spread over its slot range. */
  private Set<String> keysServedBy(ClusterNode master) {
    Set<String> keys =
        IntStream.range(0, 200)
            .mapToObj(i -> "range-" + i)
            .filter(k -> cluster.masterForKey(k).equals(master))
            .limit(10)
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(keys).hasSize(10);
    return keys;
  }

  private static <T> T onNode(ClusterNode node, Function<RedisCommands<String, String>, T> call) {
    try (StatefulRedisConnection<String, String> plain = client.connect(node.redisUri())) {
      return call.apply(plain.sync());
    }
  }
}

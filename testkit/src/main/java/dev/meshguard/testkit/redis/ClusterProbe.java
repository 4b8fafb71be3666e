package dev.meshguard.testkit.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.models.partitions.ClusterPartitionParser;
import io.lettuce.core.cluster.models.partitions.Partitions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Runs commands on single cluster nodes over plain (not cluster-aware) Lettuce connections.
 *
 * <p>Each call opens its own short-lived connection without auto-reconnect: the fixture kills and
 * restarts nodes, and a long-lived connection would buffer commands and reconnect behind the
 * fixture's back. A connection to a loopback port costs about a millisecond.
 */
final class ClusterProbe implements AutoCloseable {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

  private final RedisClient client;

  ClusterProbe() {
    client = RedisClient.create();
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(false)
            .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).build())
            .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
            .build());
  }

  /** Runs {@code commands} on the node at {@code port}. */
  <T> T on(int port, Function<RedisCommands<String, String>, T> commands) {
    RedisURI uri =
        RedisURI.builder()
            .withHost(RedisServerProcess.HOST)
            .withPort(port)
            .withTimeout(COMMAND_TIMEOUT)
            .build();
    try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
      return commands.apply(connection.sync());
    }
  }

  /** The cluster as the node at {@code port} sees it ({@code CLUSTER NODES}). */
  Partitions topology(int port) {
    String nodes = on(port, RedisCommands::clusterNodes);
    Partitions partitions = ClusterPartitionParser.parse(nodes);
    partitions.updateCache();
    return partitions;
  }

  /** {@code CLUSTER INFO} of the node at {@code port}, e.g. {@code cluster_state -> ok}. */
  Map<String, String> clusterInfo(int port) {
    return fields(on(port, RedisCommands::clusterInfo));
  }

  /** One section of {@code INFO} of the node at {@code port}, e.g. {@code role -> slave}. */
  Map<String, String> info(int port, String section) {
    return fields(on(port, commands -> commands.info(section)));
  }

  /** Parses the {@code name:value} lines that CLUSTER INFO and INFO answer. */
  static Map<String, String> fields(String reply) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : reply.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
      }
    }
    return fields;
  }

  @Override
  public void close() {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}

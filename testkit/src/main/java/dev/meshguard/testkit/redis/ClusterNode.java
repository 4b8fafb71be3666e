package dev.meshguard.testkit.redis;

import io.lettuce.core.RedisURI;
import java.util.Objects;

/**
 * One node of a {@link RedisCluster}: its cluster node id and its port on {@value
 * RedisServerProcess#HOST}. Both stay the same across restarts (the id is kept in the node's {@code
 * nodes.conf}); the node's role does not, so ask the cluster for it.
 *
 * @param id the 40-character node id that {@code CLUSTER MYID} returns
 * @param port the client port; the cluster bus is on {@code port + 10000}
 */
public record ClusterNode(String id, int port) {
  public ClusterNode {
    Objects.requireNonNull(id, "id");
  }

  public String host() {
    return RedisServerProcess.HOST;
  }

  /** The URI for a Lettuce client, e.g. {@code redis://127.0.0.1:16379}. */
  public String uri() {
    return "redis://" + host() + ":" + port;
  }

  public RedisURI redisUri() {
    return RedisURI.create(host(), port);
  }

  @Override
  public String toString() {
    return host() + ":" + port + " (" + id.substring(0, Math.min(8, id.length())) + ")";
  }
}

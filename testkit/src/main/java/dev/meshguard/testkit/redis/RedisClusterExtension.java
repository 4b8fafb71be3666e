package dev.meshguard.testkit.redis;

import io.lettuce.core.RedisURI;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real Redis Cluster for the tests of one class:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final RedisClusterExtension cluster = RedisClusterExtension.threeMastersThreeReplicas();
 * }</pre>
 *
 * <p>The cluster starts before the first test of the class (a few seconds) and stops after the last
 * one. Before each test it restarts the nodes an earlier test killed and waits until the cluster is
 * healthy, so tests may kill nodes without cleaning up; roles may differ from the start, so look
 * them up ({@link #masters()}, {@link #masterForKey}). Data is kept between tests. It must be
 * registered on a static field; {@code @Nested} classes share their outer class's cluster. When a
 * test fails, the end of every node's log goes to standard error.
 */
public final class RedisClusterExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, TestWatcher {
  private static final int LOG_LINES_ON_FAILURE = 25;

  private final int masters;
  private final int replicasPerMaster;
  private volatile RedisCluster cluster;
  private volatile String owner; // the unique id of the class context that started the cluster

  private RedisClusterExtension(int masters, int replicasPerMaster) {
    this.masters = masters;
    this.replicasPerMaster = replicasPerMaster;
  }

  /** Six nodes: three masters with one replica each. */
  public static RedisClusterExtension threeMastersThreeReplicas() {
    return withTopology(3, 1);
  }

  /** {@code masters} masters with {@code replicasPerMaster} replicas each. */
  public static RedisClusterExtension withTopology(int masters, int replicasPerMaster) {
    if (masters < 1 || replicasPerMaster < 0) {
      throw new IllegalArgumentException(
          "need at least one master and no negative replica count: "
              + masters
              + ", "
              + replicasPerMaster);
    }
    return new RedisClusterExtension(masters, replicasPerMaster);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (cluster == null) {
      cluster = RedisCluster.start(masters, replicasPerMaster);
      owner = context.getUniqueId();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getUniqueId().equals(owner)) {
      RedisCluster started = cluster;
      cluster = null;
      owner = null;
      started.close();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    cluster().heal();
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    RedisCluster running = cluster;
    if (running == null) {
      return;
    }
    StringBuilder logs = new StringBuilder();
    for (ClusterNode node : running.nodes()) {
      RedisServerProcess process = running.process(node);
      logs.append(
          String.format(
              "%n--- %s, %s:%n%s%n",
              node,
              process.isRunning() ? "running" : "stopped",
              process.logTail(LOG_LINES_ON_FAILURE)));
    }
    System.err.printf(
        "%s failed; the logs of the cluster nodes end with:%s", context.getDisplayName(), logs);
  }

  /** The running cluster. */
  public RedisCluster cluster() {
    RedisCluster running = cluster;
    if (running == null) {
      throw new IllegalStateException(
          "RedisClusterExtension is not running: register it with @RegisterExtension on a static"
              + " field");
    }
    return running;
  }

  /** See {@link RedisCluster#nodes()}. */
  public List<ClusterNode> nodes() {
    return cluster().nodes();
  }

  /** See {@link RedisCluster#node(int)}. */
  public ClusterNode node(int port) {
    return cluster().node(port);
  }

  /** See {@link RedisCluster#masters()}. */
  public List<ClusterNode> masters() {
    return cluster().masters();
  }

  /** See {@link RedisCluster#replicas()}. */
  public List<ClusterNode> replicas() {
    return cluster().replicas();
  }

  /** See {@link RedisCluster#replicasOf(ClusterNode)}. */
  public List<ClusterNode> replicasOf(ClusterNode master) {
    return cluster().replicasOf(master);
  }

  /** See {@link RedisCluster#masterForKey(String)}. */
  public ClusterNode masterForKey(String key) {
    return cluster().masterForKey(key);
  }

  /** See {@link RedisCluster#seedUris()}. */
  public List<RedisURI> seedUris() {
    return cluster().seedUris();
  }

  /** See {@link RedisCluster#kill(ClusterNode)}. */
  public void kill(ClusterNode node) {
    cluster().kill(node);
  }

  /** See {@link RedisCluster#awaitFailover(ClusterNode)}. */
  public ClusterNode awaitFailover(ClusterNode killedMaster) {
    return cluster().awaitFailover(killedMaster);
  }

  /** See {@link RedisCluster#restart(ClusterNode)}. */
  public void restart(ClusterNode node) {
    cluster().restart(node);
  }

  /** See {@link RedisCluster#awaitHealthy()}. */
  public void awaitHealthy() {
    cluster().awaitHealthy();
  }
}

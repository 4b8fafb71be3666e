package dev.meshguard.testkit.redis;

import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A real Redis Cluster of local {@code redis-server} processes, for tests that need slots,
 * redirections and failover.
 *
 * <p>{@link #start(int, int)} starts the nodes and builds the cluster through Redis commands only,
 * as {@code redis-cli --cluster create} would, but without it: each master gets a distinct config
 * epoch (CLUSTER SET-CONFIG-EPOCH, so no epoch collision has to be resolved) and an equal share of
 * the 16384 slots (CLUSTER ADDSLOTS with explicit slot lists: Redis 6.2 has no ADDSLOTSRANGE); then
 * the first node meets every other one (CLUSTER MEET), and once all know each other every replica
 * is attached to its master (CLUSTER REPLICATE). It returns when the cluster {@linkplain
 * #awaitHealthy() is healthy}.
 *
 * <p>The node timeout is {@link #NODE_TIMEOUT}, far above any stall of a loaded test machine, so no
 * master is failed over in the middle of a test that killed nothing. {@link #kill} of a master
 * first shortens it to {@link #FAILOVER_NODE_TIMEOUT} on every node, so the killed master is
 * replaced within a few seconds; {@link #awaitFailover} sets {@link #NODE_TIMEOUT} again. Replicas
 * fail over however stale they are and never migrate to another master, so a test knows which node
 * takes over.
 *
 * <p>The role queries ({@link #masters()}, {@link #masterForKey}, ...) ask the first running node;
 * while the cluster changes its answer may lag, so ask after {@link #awaitHealthy()} or {@link
 * #awaitFailover}.
 */
public final class RedisCluster implements AutoCloseable {
  /** The cluster bus of a node listens on its port plus this. */
  public static final int BUS_PORT_OFFSET = 10_000;

  /**
   * {@code cluster-node-timeout}: how long a node may be unreachable before it counts as failing,
   * while no test kills a master.
   */
  public static final Duration NODE_TIMEOUT = Duration.ofSeconds(5);

  /** {@code cluster-node-timeout} from {@link #kill} of a master until {@link #awaitFailover} is done. */
  public static final Duration FAILOVER_NODE_TIMEOUT = Duration.ofMillis(1_000);

  /** How long {@link #start} and {@link #awaitHealthy()} wait for a healthy cluster. */
  public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  /** How long {@link #awaitFailover} waits for a replica to take over. */
  public static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(30);

  private static final List<String> NODE_ARGS =
      List.of(
          "--cluster-enabled", "yes",
          "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", Long.toString(NODE_TIMEOUT.toMillis()),
          "--cluster-replica-validity-factor", "0",
          "--cluster-allow-replica-migration", "no",
          // Redis 7 sends a new replica its snapshot over the socket, but only after waiting 5 s
          // for more replicas; 6.2 writes it to disk first. Both: over the socket, at once.
          "--repl-diskless-sync", "yes",
          "--repl-diskless-sync-delay", "0");

  private final int masterCount;
  private final List<ClusterNode> nodes;
  private final Map<ClusterNode, RedisServerProcess> processes;
  private final Map<String, ClusterNode> byId;
  private final ClusterProbe probe;
  private final ClusterChecks checks;
  private final Map<ClusterNode, KilledMaster> killedMasters = new HashMap<>(); // guarded by this

  /** What a master served when it was killed, to recognise its successor. */
  private record KilledMaster(List<Integer> slots, Set<String> replicaIds) {}

  private RedisCluster(
      int masterCount,
      int replicasPerMaster,
      List<RedisServerProcess> servers,
      ClusterProbe probe) {
    this.masterCount = masterCount;
    this.probe = probe;
    Map<ClusterNode, RedisServerProcess> byNode = new HashMap<>();
    List<ClusterNode> started = new ArrayList<>();
    for (RedisServerProcess server : servers) {
      ClusterNode node =
          new ClusterNode(probe.on(server.port(), RedisCommands::clusterMyId), server.port());
      started.add(node);
      byNode.put(node, server);
    }
    this.nodes = List.copyOf(started);
    this.processes = Map.copyOf(byNode);
    this.byId = nodes.stream().collect(Collectors.toUnmodifiableMap(ClusterNode::id, n -> n));
    this.checks = new ClusterChecks(probe, nodes.size(), replicasPerMaster, byId::get);
  }

  /** Starts three masters with one replica each. */
  public static RedisCluster start() {
    return start(3, 1);
  }

  /**
   * Starts {@code masters} masters with {@code replicasPerMaster} replicas each and waits until the
   * cluster is healthy. Failover needs a majority of masters, so tests of it need at least three.
   */
  public static RedisCluster start(int masters, int replicasPerMaster) {
    if (masters < 1 || replicasPerMaster < 0) {
      throw new IllegalArgumentException(
          "need at least one master and no negative replica count: "
              + masters
              + ", "
              + replicasPerMaster);
    }
    int size = masters * (1 + replicasPerMaster);
    List<RedisServerProcess> servers = startNodes(size);
    ClusterProbe probe = new ClusterProbe();
    boolean ready = false;
    try {
      RedisCluster cluster = new RedisCluster(masters, replicasPerMaster, servers, probe);
      cluster.create(replicasPerMaster);
      ready = true;
      return cluster;
    } finally {
      if (!ready) {
        closeAll(servers);
        probe.close();
      }
    }
  }

  /**
   * Starts the nodes side by side, as starting is mostly waiting for the server to answer. If any
   * fails, the others are stopped and the failure is thrown.
   */
  private static List<RedisServerProcess> startNodes(int count) {
    List<Future<RedisServerProcess>> starts = new ArrayList<>();
    try (ExecutorService executor = sideBySide()) {
      for (int i = 0; i < count; i++) {
        starts.add(
            executor.submit(
                () ->
                    RedisServerProcess.start(
                        () -> FreePorts.pairedPort(BUS_PORT_OFFSET), NODE_ARGS)));
      }
    }
    List<RedisServerProcess> started = new ArrayList<>();
    Throwable failure = null;
    for (Future<RedisServerProcess> start : starts) {
      if (start.state() == Future.State.SUCCESS) {
        started.add(start.resultNow());
      } else if (failure == null) {
        failure = start.exceptionNow();
      } else {
        failure.addSuppressed(start.exceptionNow());
      }
    }
    if (failure != null) {
      closeAll(started);
      switch (failure) {
        case RuntimeException e -> throw e;
        case Error e -> throw e;
        default -> throw new IllegalStateException("cannot start the cluster nodes", failure);
      }
    }
    return started;
  }

  /** Stops the servers side by side: each may take a moment to shut down. */
  private static void closeAll(List<RedisServerProcess> servers) {
    try (ExecutorService executor = sideBySide()) {
      servers.forEach(server -> executor.execute(server::close));
    }
  }

  /**
   * One platform thread per task: the tasks block in synchronized methods, which would pin virtual
   * threads to their carriers before Java 24.
   */
  private static ExecutorService sideBySide() {
    return Executors.newThreadPerTaskExecutor(
        Thread.ofPlatform().name("meshguard-redis-node-", 0).daemon().factory());
  }

  private void create(int replicasPerMaster) {
    List<ClusterNode> masters = nodes.subList(0, masterCount);
    for (int i = 0; i < masterCount; i++) {
      int epoch = i + 1;
      int[] slots = slotShare(i, masterCount);
      probe.on(
          masters.get(i).port(),
          commands -> commands.clusterSetConfigEpoch(epoch) + commands.clusterAddSlots(slots));
    }
    ClusterNode first = nodes.getFirst();
    for (ClusterNode other : nodes.subList(1, nodes.size())) {
      probe.on(first.port(), commands -> commands.clusterMeet(other.host(), other.port()));
    }
    Await.until(
        READY_TIMEOUT,
        () -> checks.met(nodes),
        List::isEmpty,
        "every node of " + nodes + " to know every other one");
    for (int i = masterCount; i < nodes.size(); i++) {
      ClusterNode master = masters.get((i - masterCount) / replicasPerMaster);
      probe.on(nodes.get(i).port(), commands -> commands.clusterReplicate(master.id()));
    }
    awaitHealthy();
  }

  /** Master {@code index}'s equal share of the slots, as redis-cli splits them. */
  static int[] slotShare(int index, int masters) {
    int from = index * SlotHash.SLOT_COUNT / masters;
    int to = (index + 1) * SlotHash.SLOT_COUNT / masters;
    return IntStream.range(from, to).toArray();
  }

  /** All nodes, in the order they were started: at first the masters, then their replicas. */
  public List<ClusterNode> nodes() {
    return nodes;
  }

  /** The node on {@code port}. */
  public ClusterNode node(int port) {
    return nodes.stream()
        .filter(node -> node.port() == port)
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node of this cluster on port " + port));
  }

  /** The running nodes that serve slots, ordered by their lowest slot. */
  public List<ClusterNode> masters() {
    Partitions view = topology();
    return view.getPartitions().stream()
        .filter(n -> n.getRole().isUpstream() && !n.hasNoSlots())
        .sorted(Comparator.comparing((RedisClusterNode n) -> n.getSlots().getFirst()))
        .map(n -> byId.get(n.getNodeId()))
        .filter(this::isRunning)
        .toList();
  }

  /** The running nodes that replicate a master, ordered by port. */
  public List<ClusterNode> replicas() {
    return replicasWhere(n -> n.getSlaveOf() != null);
  }

  /** The running nodes that replicate {@code master}, ordered by port. */
  public List<ClusterNode> replicasOf(ClusterNode master) {
    Objects.requireNonNull(master, "master");
    return replicasWhere(n -> master.id().equals(n.getSlaveOf()));
  }

  /** The master that serves {@code slot}. */
  public ClusterNode masterForSlot(int slot) {
    if (slot < 0 || slot >= SlotHash.SLOT_COUNT) {
      throw new IllegalArgumentException("slot out of range: " + slot);
    }
    RedisClusterNode owner = topology().getPartitionBySlot(slot);
    if (owner == null) {
      throw new IllegalStateException("no node serves slot " + slot);
    }
    return byId.get(owner.getNodeId());
  }

  /** The master that serves {@code key}'s slot (hash tags count, as in Redis). */
  public ClusterNode masterForKey(String key) {
    return masterForSlot(SlotHash.getSlot(key));
  }

  /** One seed URI per node, for {@code RedisClusterClient.create(Iterable<RedisURI>)}. */
  public List<RedisURI> seedUris() {
    return nodes.stream().map(ClusterNode::redisUri).toList();
  }

  /** Whether {@code node}'s process runs. */
  public boolean isRunning(ClusterNode node) {
    return process(node).isRunning();
  }

  /**
   * Kills {@code node} with SIGKILL, as a crash would. If it is a master, {@link #awaitFailover}
   * then waits for one of its replicas to take over.
   */
  public synchronized void kill(ClusterNode node) {
    RedisServerProcess process = process(node);
    if (!process.isRunning()) {
      return;
    }
    RedisClusterNode self = probe.topology(node.port()).getPartitionByNodeId(node.id());
    if (self != null && self.getRole().isUpstream() && !self.hasNoSlots()) {
      Set<String> replicaIds =
          replicasOf(node).stream().map(ClusterNode::id).collect(Collectors.toUnmodifiableSet());
      killedMasters.put(node, new KilledMaster(List.copyOf(self.getSlots()), replicaIds));
      setNodeTimeout(FAILOVER_NODE_TIMEOUT);
    }
    process.kill();
  }

  /**
   * Waits until a replica of {@code killedMaster}, which {@link #kill} killed, serves all its slots
   * as every running node sees it, and returns that replica.
   *
   * @throws IllegalArgumentException when {@code killedMaster} was not a master when killed
   * @throws AssertionError when no replica took over within {@link #FAILOVER_TIMEOUT}
   */
  public ClusterNode awaitFailover(ClusterNode killedMaster) {
    KilledMaster killed;
    synchronized (this) {
      killed = killedMasters.get(killedMaster);
    }
    if (killed == null) {
      throw new IllegalArgumentException(killedMaster + " was not killed as a master with slots");
    }
    ClusterNode promoted =
        Await.until(
                FAILOVER_TIMEOUT,
                () -> checks.failedOver(killedMaster, killed.slots(), killed.replicaIds(), running()),
                ClusterChecks.Check::passed,
                "a replica of "
                    + killedMaster
                    + " to take over its "
                    + killed.slots().size()
                    + " slots")
            .result();
    setNodeTimeout(NODE_TIMEOUT);
    return promoted;
  }

  /** Sets {@code cluster-node-timeout} on every running node (a restarted one starts with {@link #NODE_TIMEOUT}). */
  private void setNodeTimeout(Duration timeout) {
    for (ClusterNode node : running()) {
      probe.on(node.port(), c -> c.configSet("cluster-node-timeout", Long.toString(timeout.toMillis())));
    }
  }

  /**
   * Starts {@code node} again (stopping it first if it runs) on its port, with its {@code
   * nodes.conf}, and waits until the cluster is healthy. A master that was failed over comes back
   * as a replica of its successor.
   */
  public void restart(ClusterNode node) {
    RedisServerProcess process = process(node);
    synchronized (this) {
      process.restart();
      killedMasters.remove(node);
    }
    String id = probe.on(node.port(), RedisCommands::clusterMyId);
    if (!id.equals(node.id())) {
      throw new IllegalStateException(
          node + " came back as a new node " + id + ": nodes.conf lost");
    }
    awaitHealthy();
  }

  /** Restarts every node that is not running, and waits until the cluster is healthy. */
  public void heal() {
    synchronized (this) {
      for (ClusterNode node : nodes) {
        if (!isRunning(node)) {
          process(node).restart();
          killedMasters.remove(node);
        }
      }
    }
    awaitHealthy();
  }

  /**
   * Waits until every node runs, reports cluster_state:ok and sees all nodes healthy and connected,
   * all nodes agree on the roles, every master has its replicas and every replica's replication
   * link is up.
   *
   * @throws AssertionError naming what is still wrong when that takes longer than {@link
   *     #READY_TIMEOUT}
   */
  public void awaitHealthy() {
    Await.until(
        READY_TIMEOUT,
        () -> checks.healthy(nodes, running()),
        List::isEmpty,
        "the cluster " + nodes + " to be healthy");
  }

  /** Stops every node, deletes their directories and closes the probe client. */
  @Override
  public void close() {
    try {
      closeAll(nodes.stream().map(this::process).toList());
    } finally {
      probe.close();
    }
  }

  /** The process of {@code node}, for its log. */
  RedisServerProcess process(ClusterNode node) {
    RedisServerProcess process = processes.get(Objects.requireNonNull(node, "node"));
    if (process == null) {
      throw new IllegalArgumentException(node + " is not a node of this cluster");
    }
    return process;
  }

  private Set<ClusterNode> running() {
    return nodes.stream()
        .filter(this::isRunning)
        .collect(Collectors.toCollection(LinkedHashSet::new));
  }

  private List<ClusterNode> replicasWhere(Predicate<RedisClusterNode> which) {
    return topology().getPartitions().stream()
        .filter(which)
        .map(n -> byId.get(n.getNodeId()))
        .filter(this::isRunning)
        .sorted(Comparator.comparingInt(ClusterNode::port))
        .toList();
  }

  /** The topology as the first running node sees it. */
  private Partitions topology() {
    ClusterNode anyRunning =
        nodes.stream()
            .filter(this::isRunning)
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no node of the cluster is running"));
    return probe.topology(anyRunning.port());
  }
}

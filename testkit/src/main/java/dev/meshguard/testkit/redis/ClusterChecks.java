package dev.meshguard.testkit.redis;

import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode.NodeFlag;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The states a {@link RedisCluster} waits for, each as a list of what is still wrong (empty when
 * the state is reached), so that a timeout says what kept the cluster from it.
 */
final class ClusterChecks {
  /** A node with one of these flags is failing, or not yet a full member. */
  private static final Set<NodeFlag> TROUBLE =
      EnumSet.of(NodeFlag.EVENTUAL_FAIL, NodeFlag.FAIL, NodeFlag.HANDSHAKE, NodeFlag.NOADDR);

  private final ClusterProbe probe;
  private final int size;
  private final int replicasPerMaster;
  private final Function<String, ClusterNode> byId;

  /** The outcome of one check: what is still wrong, and the result once nothing is. */
  record Check<T>(List<String> problems, T result) {
    Check {
      problems = List.copyOf(problems);
    }

    boolean passed() {
      return problems.isEmpty();
    }
  }

  ClusterChecks(
      ClusterProbe probe, int size, int replicasPerMaster, Function<String, ClusterNode> byId) {
    this.probe = probe;
    this.size = size;
    this.replicasPerMaster = replicasPerMaster;
    this.byId = byId;
  }

  /** After CLUSTER MEET: every node knows every other one, past the handshake. */
  List<String> met(List<ClusterNode> nodes) {
    List<String> problems = new ArrayList<>();
    for (ClusterNode node : nodes) {
      try {
        Partitions view = probe.topology(node.port());
        if (view.size() != size) {
          problems.add(node + " knows " + view.size() + " of " + size + " nodes");
        }
        for (RedisClusterNode other : view) {
          if (other.is(NodeFlag.HANDSHAKE) || other.is(NodeFlag.NOADDR)) {
            problems.add(node + " is still meeting " + other.getUri());
          }
        }
      } catch (RuntimeException e) {
        problems.add(node + ": " + e);
      }
    }
    return problems;
  }

  /**
   * Ready for tests: every node runs and reports cluster_state:ok, sees all nodes healthy and
   * connected, all agree on who replicates whom, every master serves slots and has its replicas,
   * and every replica's replication link is up.
   */
  List<String> healthy(List<ClusterNode> nodes, Set<ClusterNode> running) {
    List<String> problems = new ArrayList<>();
    Map<ClusterNode, Partitions> views = new LinkedHashMap<>();
    for (ClusterNode node : nodes) {
      if (!running.contains(node)) {
        problems.add(node + " is not running");
        continue;
      }
      try {
        String state = probe.clusterInfo(node.port()).get("cluster_state");
        if (!"ok".equals(state)) {
          problems.add(node + " reports cluster_state:" + state);
        }
        Partitions view = probe.topology(node.port());
        views.put(node, view);
        problems.addAll(viewProblems(node, view));
      } catch (RuntimeException e) {
        problems.add(node + ": " + e);
      }
    }
    Map<String, List<ClusterNode>> roleViews =
        views.entrySet().stream()
            .collect(
                Collectors.groupingBy(
                    e -> roles(e.getValue()),
                    LinkedHashMap::new,
                    Collectors.mapping(Map.Entry::getKey, Collectors.toList())));
    if (roleViews.size() > 1) {
      problems.add("nodes disagree on roles: " + roleViews);
    }
    if (!views.isEmpty()) {
      problems.addAll(replicationProblems(views.values().iterator().next(), running));
    }
    return problems;
  }

  /**
   * After a master was killed: every running node reports cluster_state:ok and sees all of the
   * killed master's slots served by the same one of its former replicas; that one is the result.
   */
  Check<ClusterNode> failedOver(
      ClusterNode killed, List<Integer> slots, Set<String> replicaIds, Set<ClusterNode> running) {
    List<String> problems = new ArrayList<>();
    String promoted = null;
    for (ClusterNode node : running) {
      try {
        String state = probe.clusterInfo(node.port()).get("cluster_state");
        if (!"ok".equals(state)) {
          problems.add(node + " reports cluster_state:" + state);
        }
        Partitions view = probe.topology(node.port());
        Set<String> owners =
            slots.stream()
                .map(view::getPartitionBySlot)
                .map(owner -> owner == null ? "nobody" : owner.getNodeId())
                .collect(Collectors.toSet());
        String owner = owners.iterator().next();
        if (owners.size() > 1) {
          problems.add(node + " sees the slots of " + killed + " split among " + owners);
        } else if (!replicaIds.contains(owner)) {
          problems.add(node + " sees the slots of " + killed + " served by " + describe(owner));
        } else if (promoted != null && !promoted.equals(owner)) {
          problems.add("nodes disagree on who took over from " + killed);
        } else {
          promoted = owner;
        }
      } catch (RuntimeException e) {
        problems.add(node + ": " + e);
      }
    }
    return new Check<>(problems, problems.isEmpty() ? byId.apply(promoted) : null);
  }

  private List<String> viewProblems(ClusterNode node, Partitions view) {
    List<String> problems = new ArrayList<>();
    if (view.size() != size) {
      problems.add(node + " knows " + view.size() + " of " + size + " nodes");
    }
    for (RedisClusterNode other : view) {
      Set<NodeFlag> trouble = EnumSet.noneOf(NodeFlag.class);
      trouble.addAll(other.getFlags());
      trouble.retainAll(TROUBLE);
      if (!trouble.isEmpty()) {
        problems.add(node + " sees " + describe(other.getNodeId()) + " as " + trouble);
      } else if (!other.is(NodeFlag.MYSELF) && !other.isConnected()) {
        problems.add(node + " has no bus link to " + describe(other.getNodeId()));
      }
    }
    return problems;
  }

  /** Who replicates whom, in a form that is equal for equal topologies. */
  private static String roles(Partitions view) {
    return view.getPartitions().stream()
        .sorted(Comparator.comparing(RedisClusterNode::getNodeId))
        .map(n -> n.getNodeId() + (n.getSlaveOf() == null ? " master" : " of " + n.getSlaveOf()))
        .collect(Collectors.joining(", "));
  }

  private List<String> replicationProblems(Partitions view, Set<ClusterNode> running) {
    List<String> problems = new ArrayList<>();
    for (RedisClusterNode master : view) {
      if (!master.getRole().isUpstream()) {
        continue;
      }
      if (master.hasNoSlots()) {
        problems.add(describe(master.getNodeId()) + " is a master without slots");
        continue;
      }
      List<ClusterNode> replicas =
          view.getPartitions().stream()
              .filter(n -> master.getNodeId().equals(n.getSlaveOf()))
              .map(n -> byId.apply(n.getNodeId()))
              .toList();
      if (replicas.size() != replicasPerMaster) {
        problems.add(
            describe(master.getNodeId())
                + " has replicas "
                + replicas
                + ", not "
                + replicasPerMaster);
      }
      for (ClusterNode replica : replicas) {
        if (replica != null && running.contains(replica)) {
          problems.addAll(linkProblems(replica, byId.apply(master.getNodeId())));
        }
      }
    }
    return problems;
  }

  /** The replica copies its master: INFO replication says the link is up, to the right port. */
  private List<String> linkProblems(ClusterNode replica, ClusterNode master) {
    try {
      Map<String, String> replication = probe.info(replica.port(), "replication");
      String link = replication.get("master_link_status");
      String masterPort = replication.get("master_port");
      if (!"up".equals(link)
          || master == null
          || !Integer.toString(master.port()).equals(masterPort)) {
        return List.of(
            replica
                + " replicates port "
                + masterPort
                + " (link "
                + link
                + "), expected "
                + master);
      }
      return List.of();
    } catch (RuntimeException e) {
      return List.of(replica + ": " + e);
    }
  }

  private String describe(String nodeId) {
    ClusterNode node = byId.apply(nodeId);
    return node != null ? node.toString() : Objects.toString(nodeId);
  }
}

package dev.meshguard.testkit.redis;

import dev.meshguard.testkit.Await;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import io.lettuce.core.sentinel.api.sync.RedisSentinelCommands;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A real Redis Sentinel set-up for tests: a master, a replica of it and three Sentinels watching
 * them under the name {@value #MASTER_NAME}, all local {@code redis-server} processes (a Sentinel
 * is the same binary with {@code --sentinel} and a config file it may rewrite).
 *
 * <p>The Sentinels consider a master down after {@link #DOWN_AFTER} and need two of three to
 * agree. {@link #killMaster} first shortens that to {@link #FAILOVER_DOWN_AFTER}, so a killed
 * master is replaced by its replica within a few seconds ({@link #awaitFailover}, which sets
 * {@link #DOWN_AFTER} again). Only then: a master that a loaded machine starves for a second must
 * not be failed over in the middle of a test that killed nothing. {@link #restart} brings a killed
 * server back on its port; a Sentinel then turns an old master into a replica of the new one.
 */
public final class RedisSentinel implements AutoCloseable {
  /** The name the Sentinels know the master by. */
  public static final String MASTER_NAME = "meshguard";

  /**
   * {@code down-after-milliseconds}: how long a master may be unreachable before it is down, while
   * no test kills it; far above any stall of a loaded test machine.
   */
  public static final Duration DOWN_AFTER = Duration.ofSeconds(5);

  /** {@code down-after-milliseconds} from {@link #killMaster} until {@link #awaitFailover} is done. */
  public static final Duration FAILOVER_DOWN_AFTER = Duration.ofMillis(1_000);

  /** How long {@link #start} waits for the set-up to be whole, and failover waits for a new master. */
  public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private static final List<String> DATA_ARGS =
      List.of("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0");
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

  private final List<RedisServerProcess> servers; // master first, then the replica
  private final List<RedisServerProcess> sentinels;
  private final RedisClient probe;

  private RedisSentinel(List<RedisServerProcess> servers, List<RedisServerProcess> sentinels,
      RedisClient probe) {
    this.servers = List.copyOf(servers);
    this.sentinels = List.copyOf(sentinels);
    this.probe = probe;
  }

  /** Starts the master, its replica and three Sentinels, and waits until all see each other. */
  public static RedisSentinel start() {
    List<RedisServerProcess> started = new ArrayList<>();
    RedisClient probe = RedisClient.create();
    probe.setOptions(
        ClientOptions.builder()
            .autoReconnect(false)
            .socketOptions(SocketOptions.builder().connectTimeout(PROBE_TIMEOUT).build())
            .timeoutOptions(TimeoutOptions.enabled(PROBE_TIMEOUT))
            .build());
    boolean ready = false;
    try {
      RedisServerProcess master = RedisServerProcess.start(DATA_ARGS);
      started.add(master);
      List<String> replicaArgs = new ArrayList<>(DATA_ARGS);
      replicaArgs.addAll(
          List.of("--replicaof", RedisServerProcess.HOST, Integer.toString(master.port())));
      RedisServerProcess replica = RedisServerProcess.start(replicaArgs);
      started.add(replica);
      String config =
          String.join(
              "\n",
              "sentinel monitor "
                  + MASTER_NAME
                  + " "
                  + RedisServerProcess.HOST
                  + " "
                  + master.port()
                  + " 2",
              "sentinel down-after-milliseconds " + MASTER_NAME + " " + DOWN_AFTER.toMillis(),
              "sentinel failover-timeout " + MASTER_NAME + " 10000",
              "sentinel parallel-syncs " + MASTER_NAME + " 1",
              "");
      List<RedisServerProcess> sentinels = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        RedisServerProcess sentinel =
            RedisServerProcess.startWithConfigFile(config, List.of("--sentinel"));
        started.add(sentinel);
        sentinels.add(sentinel);
      }
      RedisSentinel setUp = new RedisSentinel(List.of(master, replica), sentinels, probe);
      setUp.awaitWhole();
      ready = true;
      return setUp;
    } finally {
      if (!ready) {
        started.forEach(RedisServerProcess::close);
        probe.shutdown();
      }
    }
  }

  /** The Sentinels' addresses. */
  public List<InetSocketAddress> sentinelAddresses() {
    return sentinels.stream()
        .map(s -> new InetSocketAddress(s.host(), s.port()))
        .toList();
  }

  /**
   * The set-up as meshguard's store option writes it: {@code
   * redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/meshguard}.
   */
  public String uri() {
    return "redis-sentinel://"
        + sentinels.stream()
            .map(s -> s.host() + ":" + s.port())
            .collect(Collectors.joining(","))
        + "/"
        + MASTER_NAME;
  }

  /** The data servers: the first master and the first replica, whatever their roles are now. */
  public List<RedisServerProcess> servers() {
    return servers;
  }

  /** The Sentinel processes. */
  public List<RedisServerProcess> sentinels() {
    return sentinels;
  }

  /** The server the Sentinels name master now. */
  public RedisServerProcess master() {
    int port = masterPort();
    return servers.stream()
        .filter(s -> s.port() == port)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("the Sentinels name an unknown master: " + port));
  }

  /**
   * Kills the current master with SIGKILL, as a crash would, and returns it; the Sentinels count it
   * down after {@link #FAILOVER_DOWN_AFTER}.
   */
  public RedisServerProcess killMaster() {
    RedisServerProcess master = master();
    setDownAfter(FAILOVER_DOWN_AFTER);
    master.kill();
    return master;
  }

  /**
   * Waits until every running Sentinel names a master other than {@code old} and that server
   * answers as a master, and returns it.
   */
  public RedisServerProcess awaitFailover(RedisServerProcess old) {
    Await.until(
        READY_TIMEOUT,
        () -> {
          for (RedisServerProcess sentinel : sentinels) {
            if (sentinel.isRunning() && masterPortSeenBy(sentinel) == old.port()) {
              return false;
            }
          }
          RedisServerProcess now = master();
          return now.isRunning() && role(now).equals("master");
        },
        () -> "a Sentinel failover away from " + old);
    setDownAfter(DOWN_AFTER);
    return master();
  }

  /** Sets {@code down-after-milliseconds} on every running Sentinel (the new master keeps it). */
  private void setDownAfter(Duration downAfter) {
    for (RedisServerProcess sentinel : sentinels) {
      if (sentinel.isRunning()) {
        onSentinel(sentinel, c -> c.set(MASTER_NAME, "down-after-milliseconds",
            Long.toString(downAfter.toMillis())));
      }
    }
  }

  /** Starts a stopped server again on its port (an old master comes back and is made a replica). */
  public void restart(RedisServerProcess server) {
    if (!servers.contains(server)) {
      throw new IllegalArgumentException(server + " is not a data server of this set-up");
    }
    server.restart();
  }

  /** Stops every process and closes the probe client. */
  @Override
  public void close() {
    try {
      sentinels.forEach(RedisServerProcess::close);
      servers.forEach(RedisServerProcess::close);
    } finally {
      probe.shutdown();
    }
  }

  private void awaitWhole() {
    RedisServerProcess replica = servers.get(1);
    Await.until(
        READY_TIMEOUT,
        () -> info(replica).contains("master_link_status:up"),
        () -> "the replica " + replica + " to sync with the master");
    for (RedisServerProcess sentinel : sentinels) {
      Await.until(
          READY_TIMEOUT,
          () -> {
            Map<String, String> master = onSentinel(sentinel, c -> c.master(MASTER_NAME));
            return "1".equals(master.get("num-slaves"))
                && "2".equals(master.get("num-other-sentinels"));
          },
          () -> sentinel + " to see the replica and the two other Sentinels");
    }
  }

  private int masterPort() {
    for (RedisServerProcess sentinel : sentinels) {
      if (sentinel.isRunning()) {
        return masterPortSeenBy(sentinel);
      }
    }
    throw new IllegalStateException("no Sentinel is running");
  }

  private int masterPortSeenBy(RedisServerProcess sentinel) {
    SocketAddress address = onSentinel(sentinel, c -> c.getMasterAddrByName(MASTER_NAME));
    return ((InetSocketAddress) address).getPort();
  }

  private <T> T onSentinel(
      RedisServerProcess sentinel, Function<RedisSentinelCommands<String, String>, T> commands) {
    RedisURI uri = RedisURI.builder().withHost(sentinel.host()).withPort(sentinel.port()).build();
    try (StatefulRedisSentinelConnection<String, String> c = probe.connectSentinel(uri)) {
      return commands.apply(c.sync());
    }
  }

  private String info(RedisServerProcess server) {
    try (StatefulRedisConnection<String, String> c = probe.connect(server.redisUri())) {
      return c.sync().info("replication");
    } catch (RuntimeException e) {
      return "";
    }
  }

  private String role(RedisServerProcess server) {
    String info = info(server);
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("role:")) {
        return line.substring("role:".length()).strip();
      }
    }
    return "";
  }
}

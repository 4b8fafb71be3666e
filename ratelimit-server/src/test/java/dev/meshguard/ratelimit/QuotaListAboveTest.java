package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisExtension;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Tenants above a ratio" finds tenants counted on the default quota, which the quota store does
 * not know by name: in memory, and on a real Redis shared by replicas and kept across restarts.
 * Requests go over real sockets to {@code ShouldRateLimit}.
 */
class QuotaListAboveTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone().flushingBeforeEach();

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-05-20T12:00:00Z"));
  private final List<Replica> running = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (Replica replica : running.reversed()) {
      replica.close();
    }
  }

  /** One server with its API: a default quota of 10 a month, acme 10 of its own, globex unlimited. */
  private record Replica(RateLimitServer server, QuotaAdminApi api, ManagedChannel channel, List<AutoCloseable> parts) {
    void close() throws Exception {
      for (AutoCloseable part : parts.reversed()) {
        part.close();
      }
      parts.clear(); // closed once, here or at the end of the test
    }

    void ask(String tenant, int times) {
      for (int i = 0; i < times; i++) {
        RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
            .shouldRateLimit(request("envoy", desc("tenant", tenant)));
      }
    }

    /** Tenant to its quota ("*" for the default one), in the API's order. */
    Map<String, String> above(double ratio) throws Exception {
      QuotaAdminApi.Reply reply = api.listAbove(ratio, Double.toString(ratio));
      Map<String, String> tenants = new LinkedHashMap<>();
      for (JsonNode t : JSON.readTree(reply.json()).path("tenants")) {
        tenants.put(t.path("tenant").asText(), t.path("quota").asText());
      }
      return tenants;
    }
  }

  private Replica replica(String store) throws Exception {
    Path limits = Files.createDirectories(dir.resolve("limits"));
    Files.writeString(limits.resolve("envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    Path quotas = Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(quotas.resolve("default.yaml"), """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: trial}
        spec:
          default: true
          limits:
            - {name: monthly, period: month, amount: 10}
        """);
    Files.writeString(quotas.resolve("acme.yaml"), QuotaServerTest.quota("acme", 10));
    Files.writeString(quotas.resolve("globex.yaml"), """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: globex}
        spec:
          unlimited: true
        """);
    RateLimitOptions options = new RateLimitOptions(limits, "127.0.0.1", 0, FailureMode.ALLOW, Duration.ofHours(1),
        1000).withStore(store).withQuota(QuotaOptions.DEFAULTS.withDir(quotas))
        // Generous timeouts: two cores shared with other builds.
        .withRedis(new RedisOptions(Duration.ofSeconds(5), Duration.ofSeconds(5), RedisOptions.DEFAULTS.requestQueueSize(),
            RedisOptions.DEFAULTS.keyPrefix(), RedisOptions.DEFAULTS.expirationJitter(),
            RedisOptions.DEFAULTS.clusterRefreshPeriod()));
    List<AutoCloseable> parts = new ArrayList<>();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    parts.add(scheduler::shutdownNow);
    RateLimitServer server = RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry());
    parts.add(server);
    QuotaAdminApi api = QuotaAdminApi.create(server, null, clock, change -> true);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    parts.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    Replica replica = new Replica(server, api, channel, parts);
    running.add(replica);
    return replica;
  }

  @Test
  void inMemoryTenantsOnTheDefaultQuotaAreListed() throws Exception {
    Replica replica = replica("memory");
    replica.ask("wayne", 9);
    replica.ask("stark", 3);
    replica.ask("acme", 8);
    replica.ask("globex", 50);
    assertThat(replica.above(0.5)).as("before any poll").containsExactly(
        Map.entry("acme", "acme"), Map.entry("wayne", "*"));
    replica.server().reloadQuotas();
    assertThat(replica.above(0.5)).as("after a poll").containsExactly(
        Map.entry("acme", "acme"), Map.entry("wayne", "*"));
    assertThat(replica.above(0.2)).containsOnlyKeys("acme", "stark", "wayne");
    assertThat(replica.above(0.95)).isEmpty();
  }

  @Test
  void onRedisEveryReplicaListsTheTenantsAnyReplicaSawAndARestartKeepsThem() throws Exception {
    Replica a = replica(redis.uri());
    Replica b = replica(redis.uri());
    a.ask("wayne", 9);
    b.ask("stark", 6);
    assertThat(b.above(0.5)).as("a has not shared wayne yet").containsOnlyKeys("stark");
    a.server().reloadQuotas();
    assertThat(b.above(0.5)).containsExactly(Map.entry("stark", "*"), Map.entry("wayne", "*"));
    b.server().reloadQuotas();
    a.close();
    b.close();

    Replica c = replica(redis.uri());
    assertThat(c.above(0.5)).as("a restarted replica, usage and index in Redis")
        .containsExactly(Map.entry("stark", "*"), Map.entry("wayne", "*"));
    c.api().reset("wayne", new QuotaAdminApi.Caller("local", "127.0.0.1"));
    assertThat(c.above(0.5)).containsOnlyKeys("stark");
  }
}

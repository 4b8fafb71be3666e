package dev.meshguard.cli;

import static dev.meshguard.cli.PackagedJar.awaitServer;
import static dev.meshguard.cli.PackagedJar.get;
import static dev.meshguard.cli.PackagedJar.meshguard;
import static dev.meshguard.cli.PackagedJar.readQuietly;
import static dev.meshguard.cli.PackagedJar.replaceFile;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meshguard ratelimit --config-dir DIR} as a separate process from the packaged
 * distribution: it answers ShouldRateLimit, picks up an edited file, keeps the last good config
 * when a file breaks and says why on {@code /status}; and the same with {@code --store redis://...}.
 */
class RateLimitProcessIT {
  @org.junit.jupiter.api.extension.RegisterExtension
  static final dev.meshguard.testkit.redis.RedisExtension redis =
      dev.meshguard.testkit.redis.RedisExtension.standalone();

  @TempDir
  Path tmp;

  private Process process;
  private ManagedChannel channel;

  @AfterEach
  void kill() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (process != null) {
      process.destroyForcibly();
    }
  }

  static String config(int requestsPerUnit) {
    return "domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: hour, requests_per_unit: "
        + requestsPerUnit + "}\n";
  }

  @Test
  void servesReloadsAndKeepsTheLastGoodConfig() throws Exception {
    Path configs = Files.createDirectories(tmp.resolve("configs"));
    Files.writeString(configs.resolve("edge.yaml"), config(5));
    Path settings = tmp.resolve("meshguard.yaml");
    Files.writeString(settings, "ratelimit:\n  reload_interval: 50ms\n  response_headers: {enabled: true}\n");
    Path log = tmp.resolve("ratelimit.log");
    process = meshguard(log, "ratelimit",
            "--config-dir", configs.toString(), "--config", settings.toString(), "--port", "0",
            "--admin-port", "0", "--audit-dir", tmp.resolve("audit").toString()).start();
    PackagedJar.Server server = awaitServer(log, "meshguard ratelimit");
    int port = server.port("ratelimit", "grpc");
    assertThat(Files.readString(log)).contains("ratelimit  grpc://127.0.0.1:" + port + "  1 domains (edge)");
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    assertThat(limitNow()).isEqualTo(5);

    replaceFile(configs.resolve("edge.yaml"), tmp, config(8));
    Await.until(Duration.ofSeconds(30), () -> limitNow() == 8, () -> "the edited limit to apply; log:\n"
        + readQuietly(log));

    replaceFile(configs.resolve("edge.yaml"), tmp, "domain: edge\ndescriptors:\n  - key: remote_address\n"
        + "    rate_limit: {unit: fortnight, requests_per_unit: 1}\n");
    URI status = server.admin("/status");
    Await.until(Duration.ofSeconds(30), () -> get(status).contains("\"last_error\""),
        () -> "/status to show the refused reload; got " + get(status));
    assertThat(get(status)).contains("edge.yaml:4:");
    assertThat(limitNow()).as("the last good config keeps serving").isEqualTo(8);

    // Over the limit of a fresh key: 8 per hour, 20 hits; the 9th is the first over-limit hit. The
    // window is the real clock's hour (the server's, on this machine): not starting in an hour's last
    // 30 s keeps all 20 hits in one window, so the last one finds none remaining.
    Await.until(Duration.ofSeconds(40), () -> java.time.Instant.now().getEpochSecond() % 3600 < 3570,
        () -> "an hour with 30 s left to run");
    RateLimitRequest fresh = RateLimitRequest.newBuilder().setDomain("edge")
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("remote_address").setValue("10.9.9.9")))
        .build();
    io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse last = null;
    for (int i = 0; i < 20; i++) {
      last = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .shouldRateLimit(fresh);
    }
    assertThat(last.getResponseHeadersToAddList()).extracting(h -> h.getKey() + ": " + h.getValue())
        .as("response_headers from the config file").startsWith("RateLimit-Limit: 8", "RateLimit-Remaining: 0");
    String metrics = get(server.admin("/metrics"));
    assertThat(metrics).contains("meshguard_ratelimit_total_hits_total{domain=\"edge\",key=\"remote_address\"}")
        .contains("meshguard_ratelimit_over_limit_with_local_cache_total{domain=\"edge\",key=\"remote_address\"}")
        .contains("meshguard_ratelimit_store_latency_seconds_bucket{domain=\"edge\"");

    process.destroy();
    assertThat(process.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(log)).contains("meshguard ratelimit stopped");
    assertThat(Main.commandLine().execute("audit", "verify", tmp.resolve("audit").toString())).isZero();
    java.io.StringWriter events = new java.io.StringWriter();
    picocli.CommandLine query = Main.commandLine();
    query.setOut(new java.io.PrintWriter(events));
    assertThat(query.execute("audit", "query", "--component", "ratelimit", "--outcome", "over_limit", "--format",
        "json", tmp.resolve("audit").toString())).isZero();
    List<String> throttles = events.toString().lines().filter(l -> l.contains("10.9.9.9")).toList();
    assertThat(throttles).as("one throttle event for the key per window; all: %s", events).hasSizeBetween(1, 2);
    assertThat(throttles.get(0)).contains("\"kind\":\"throttle\"")
        .contains("edge: remote_address=10.9.9.9").contains("over limit: 8 per hour");
  }

  @Test
  void countsInRedisWithStore() throws Exception {
    Path configs = Files.createDirectories(tmp.resolve("configs"));
    Files.writeString(configs.resolve("edge.yaml"), "domain: edge\ndescriptors:\n  - key: remote_address\n"
        + "    rate_limit: {unit: hour, requests_per_unit: 2, algorithm: token_bucket}\n");
    // A busy test machine may stall a cold JVM for seconds, far past the 50 ms default; the key is set as
    // users would.
    Path settings = tmp.resolve("meshguard.yaml");
    Files.writeString(settings, "ratelimit:\n  redis:\n    command_timeout: 10s\n");
    Path log = tmp.resolve("ratelimit.log");
    process = meshguard(log, "ratelimit",
            "--config", settings.toString(),
            "--config-dir", configs.toString(), "--store", redis.uri(), "--port", "0",
            "--admin-port", "0", "--audit-dir", tmp.resolve("audit").toString()).start();
    // A cold JVM plus a Redis connection and its warm-up, on a test machine that may be very busy.
    int port = awaitServer(log, "meshguard ratelimit").port("ratelimit", "grpc");
    assertThat(Files.readString(log)).contains("store: " + redis.uri());
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    List<Integer> remaining = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      remaining.add(RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge")
              .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
                  RateLimitDescriptor.Entry.newBuilder().setKey("remote_address").setValue("10.0.0.7")))
              .build())
          .getStatuses(0).getLimitRemaining());
    }
    assertThat(remaining).containsExactly(1, 0, 0);
    // The bucket lives in Redis, under the default prefix and the descriptor's hash tag.
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.redisUri());
    try (var connection = client.connect()) {
      assertThat(connection.sync().keys("mg:{4:edge14:remote_address8:10.0.0.7}b:2:3600")).hasSize(1);
    } finally {
      client.shutdown();
    }
  }

  private int limitNow() {
    RateLimitRequest request = RateLimitRequest.newBuilder().setDomain("edge")
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("remote_address").setValue("10.0.0.1")))
        .build();
    return RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .shouldRateLimit(request).getStatuses(0).getCurrentLimit().getRequestsPerUnit();
  }
}

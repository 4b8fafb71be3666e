package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.time.Clock;
import dev.meshguard.testkit.redis.RedisExtension;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The server on {@code store: redis://...}: two servers (replicas) share counters over gRPC. */
class RateLimitServerRedisIT {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone();

  @TempDir
  Path dir;

  @Test
  void twoServersOnOneRedisShareTheirCounters() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), """
        domain: envoy
        descriptors:
          - key: remote_address
            rate_limit: {unit: hour, requests_per_unit: 3, algorithm: sliding_window}
        """);
    RateLimitOptions options = RateLimitOptions.DEFAULTS.withConfigDir(dir).withPort(0).withStore(redis.uri())
        .withRedis(RedisOptions.DEFAULTS.withCommandTimeout(Duration.ofSeconds(10))); // a loaded machine, not a fault
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (RateLimitServer a = RateLimitServer.start(options, Clock.SYSTEM, scheduler, registry);
        RateLimitServer b = RateLimitServer.start(options, Clock.SYSTEM, scheduler, new SimpleMeterRegistry())) {
      assertThat(a.status()).isEqualTo(ComponentStatus.ready("ratelimit", a.revision(),
          Map.of("grpc", a.endpoint(), "store", "redis://127.0.0.1:" + redis.port())));
      ManagedChannel toA = NettyChannelBuilder.forAddress("127.0.0.1", a.port()).usePlaintext().build();
      ManagedChannel toB = NettyChannelBuilder.forAddress("127.0.0.1", b.port()).usePlaintext().build();
      try {
        long[] remaining = new long[4];
        RateLimitResponse.Code[] codes = new RateLimitResponse.Code[4];
        for (int i = 0; i < 4; i++) {
          RateLimitResponse response = RateLimitServiceGrpc.newBlockingStub(i % 2 == 0 ? toA : toB)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .shouldRateLimit(request("envoy", desc("remote_address", "10.0.0.1")));
          remaining[i] = response.getStatuses(0).getLimitRemaining();
          codes[i] = response.getOverallCode();
        }
        assertThat(remaining).containsExactly(2, 1, 0, 0);
        assertThat(codes).containsExactly(RateLimitResponse.Code.OK, RateLimitResponse.Code.OK,
            RateLimitResponse.Code.OK, RateLimitResponse.Code.OVER_LIMIT);
        assertThat(registry.get("meshguard.ratelimit.store.latency").tag("domain", "envoy").timer().count())
            .isEqualTo(2);
      } finally {
        toA.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        toB.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }
}

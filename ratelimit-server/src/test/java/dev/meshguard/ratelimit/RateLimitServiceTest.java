package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.time.ManualClock;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.RateLimit.Unit;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code ShouldRateLimit} over a real socket with grpc-java's blocking stub, as a table of
 * request → response (or gRPC error) sequences. Requests are built the way Envoy's rate limit
 * filter builds them ({@link EnvoyRateLimitRequests}); every expected response is written out
 * field by field from rls.proto and envoyproxy/ratelimit's semantics (reference §1), not taken
 * from meshguard's output. Time stands still at {@link #NOW}: 20 s into a minute, 800 s into an
 * hour, so {@code duration_until_reset} is 1 s, 40 s or 2800 s.
 */
class RateLimitServiceTest {

  static final long NOW = 1_700_000_000L;

  static final String CONFIG = """
      domain: envoy
      descriptors:
        - key: remote_address
          rate_limit: {unit: minute, requests_per_unit: 3, name: per-ip}
        - key: path
          value: /login
          rate_limit: {unit: second, requests_per_unit: 1}
        - key: shadow
          shadow_mode: true
          rate_limit: {unit: hour, requests_per_unit: 1}
        - key: free
          rate_limit: {unlimited: true}
      """;

  @TempDir
  Path dir;

  record Step(RateLimitRequest request, RateLimitResponse expected, Status.Code error, String message) {}

  static Step step(RateLimitRequest request, RateLimitResponse expected) {
    return new Step(request, expected, null, null);
  }

  static Step error(RateLimitRequest request, Status.Code code, String message) {
    return new Step(request, null, code, message);
  }

  static RateLimitResponse response(Code overall, RateLimitResponse.DescriptorStatus... statuses) {
    return RateLimitResponse.newBuilder().setOverallCode(overall).addAllStatuses(List.of(statuses)).build();
  }

  static RateLimitResponse.DescriptorStatus status(Code code, int rpu, Unit unit, String name, long remaining,
      long reset) {
    return RateLimitResponse.DescriptorStatus.newBuilder()
        .setCode(code)
        .setCurrentLimit(RateLimitResponse.RateLimit.newBuilder().setRequestsPerUnit(rpu).setUnit(unit).setName(name))
        .setLimitRemaining((int) remaining)
        .setDurationUntilReset(com.google.protobuf.Duration.newBuilder().setSeconds(reset))
        .build();
  }

  static RateLimitResponse.DescriptorStatus ok(int rpu, Unit unit, String name, long remaining, long reset) {
    return status(Code.OK, rpu, unit, name, remaining, reset);
  }

  static RateLimitResponse.DescriptorStatus over(int rpu, Unit unit, String name, long reset) {
    return status(Code.OVER_LIMIT, rpu, unit, name, 0, reset);
  }

  /** No limit matched: OK, no current_limit, 0 remaining, no reset. */
  static final RateLimitResponse.DescriptorStatus NONE =
      RateLimitResponse.DescriptorStatus.newBuilder().setCode(Code.OK).build();

  static RateLimitResponse.DescriptorStatus perIp(long remaining) {
    return ok(3, Unit.MINUTE, "per-ip", remaining, 40);
  }

  static final RateLimitResponse.DescriptorStatus PER_IP_OVER = over(3, Unit.MINUTE, "per-ip", 40);

  static Named<List<Step>> c(String name, Step... steps) {
    return Named.of(name, List.of(steps));
  }

  static Stream<Named<List<Step>>> cases() {
    var ip = desc("remote_address", "10.0.0.1");
    var login = desc("path", "/login");
    return Stream.of(
        c("OK counts down to 0 remaining, then OVER_LIMIT with the named current_limit",
            step(request("envoy", ip), response(Code.OK, perIp(2))),
            step(request("envoy", ip), response(Code.OK, perIp(1))),
            step(request("envoy", ip), response(Code.OK, perIp(0))),
            step(request("envoy", ip), response(Code.OVER_LIMIT, PER_IP_OVER)),
            step(request("envoy", desc("remote_address", "10.0.0.2")), response(Code.OK, perIp(2)))),
        c("several descriptors: statuses in request order, overall OVER_LIMIT if any is",
            step(request("envoy", ip, login), response(Code.OK, perIp(2), ok(1, Unit.SECOND, "", 0, 1))),
            step(request("envoy", ip, login), response(Code.OVER_LIMIT, perIp(1), over(1, Unit.SECOND, "", 1))),
            step(request("envoy", login, ip, desc("nothing", "here")),
                response(Code.OVER_LIMIT, over(1, Unit.SECOND, "", 1), perIp(0), NONE))),
        c("shadow mode: over is reported OK with 0 remaining and does not make overall OVER_LIMIT",
            step(request("envoy", desc("shadow", "x")), response(Code.OK, ok(1, Unit.HOUR, "", 0, 2800))),
            step(request("envoy", desc("shadow", "x")), response(Code.OK, ok(1, Unit.HOUR, "", 0, 2800))),
            step(request("envoy", desc("shadow", "x"), ip), response(Code.OK, ok(1, Unit.HOUR, "", 0, 2800), perIp(2)))),
        c("per-descriptor hits_addend 0 checks without counting",
            step(request("envoy", ip.hits(0)), response(Code.OK, perIp(3))),
            step(request("envoy", ip), response(Code.OK, perIp(2))),
            step(request("envoy", ip.hits(0)), response(Code.OK, perIp(2))),
            step(request("envoy", 5, ip.hits(2)), response(Code.OK, perIp(0))),
            step(request("envoy", ip.hits(0)), response(Code.OK, perIp(0)))),
        c("request hits_addend: 0 means 1, N counts N, exactly the limit is OK",
            step(request("envoy", 0, ip), response(Code.OK, perIp(2))),
            step(request("envoy", 2, ip), response(Code.OK, perIp(0))),
            step(request("envoy", 1, ip), response(Code.OVER_LIMIT, PER_IP_OVER))),
        c("request hits_addend beyond the limit in one request",
            step(request("envoy", 4, ip), response(Code.OVER_LIMIT, PER_IP_OVER))),
        c("per-descriptor hits_addend beyond uint32 is over any limit",
            step(request("envoy", ip.hits(-1L)), response(Code.OVER_LIMIT, PER_IP_OVER))),
        c("limit override replaces the configured limit (no name) in its unit's window",
            step(request("envoy", ip.limit(10, io.envoyproxy.envoy.type.v3.RateLimitUnit.HOUR)),
                response(Code.OK, ok(10, Unit.HOUR, "", 9, 2800))),
            step(request("envoy", desc("unconfigured", "v").limit(1, io.envoyproxy.envoy.type.v3.RateLimitUnit.SECOND)),
                response(Code.OK, ok(1, Unit.SECOND, "", 0, 1))),
            step(request("envoy", desc("unconfigured", "v").limit(1, io.envoyproxy.envoy.type.v3.RateLimitUnit.SECOND)),
                response(Code.OVER_LIMIT, over(1, Unit.SECOND, "", 1)))),
        c("limit override is ignored for an unknown domain",
            step(request("elsewhere", ip.limit(1, io.envoyproxy.envoy.type.v3.RateLimitUnit.SECOND)),
                response(Code.OK, NONE))),
        c("unknown domain: OK with no limit, one status per descriptor",
            step(request("elsewhere", ip, login), response(Code.OK, NONE, NONE))),
        c("unlimited: OK, no current_limit, remaining UINT32_MAX",
            step(request("envoy", desc("free", "x")), response(Code.OK,
                RateLimitResponse.DescriptorStatus.newBuilder().setCode(Code.OK).setLimitRemaining(-1).build()))),
        c("empty domain is INVALID_ARGUMENT",
            error(request("", ip), Status.Code.INVALID_ARGUMENT, "rate limit domain must not be empty")),
        c("no descriptors is INVALID_ARGUMENT",
            error(request("envoy"), Status.Code.INVALID_ARGUMENT, "rate limit descriptor list must not be empty")),
        c("a rejected request counts nothing",
            error(request("", ip), Status.Code.INVALID_ARGUMENT, "rate limit domain must not be empty"),
            step(request("envoy", ip), response(Code.OK, perIp(2)))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void shouldRateLimit(List<Step> steps) throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(NOW));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    RateLimitOptions options = RateLimitOptions.DEFAULTS.withConfigDir(dir).withPort(0);
    try (RateLimitServer server = RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry())) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        for (int i = 0; i < steps.size(); i++) {
          Step step = steps.get(i);
          if (step.error() == null) {
            assertThat(stub.shouldRateLimit(step.request())).as("step %d", i + 1).isEqualTo(step.expected());
          } else {
            StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> stub.shouldRateLimit(step.request()));
            assertThat(e).as("step %d fails", i + 1).isNotNull();
            assertThat(e.getStatus().getCode()).isEqualTo(step.error());
            assertThat(e.getStatus().getDescription()).isEqualTo(step.message());
          }
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }

  @org.junit.jupiter.api.Test
  void theThrottleListenerHearsTheFirstOverLimitHitOnly() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), CONFIG);
    java.util.List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    ThrottleListener listener = (domain, descriptor, status) -> heard.add(domain + " " + descriptor.entries() + " "
        + status.code() + " " + status.currentLimit());
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    RateLimitOptions options = RateLimitOptions.DEFAULTS.withConfigDir(dir).withPort(0);
    try (RateLimitServer server = RateLimitServer.start(options, new ManualClock(Instant.ofEpochSecond(NOW)), scheduler,
        new SimpleMeterRegistry(), listener)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        for (int i = 0; i < 6; i++) {
          stub.shouldRateLimit(request("envoy", desc("remote_address", "10.0.0.9"), desc("shadow", "s")));
        }
        dev.meshguard.testkit.Await.until(Duration.ofSeconds(10), () -> !heard.isEmpty(), () -> "a throttle event");
        assertThat(heard).containsExactly("envoy [Entry[key=remote_address, value=10.0.0.9]] OVER_LIMIT "
            + "CurrentLimit[requestsPerUnit=3, unit=MINUTE, name=per-ip]");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** A store that cannot answer (here: full) is answered by the failure mode, over the wire. */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(FailureMode.class)
  void aStoreFailureIsAnsweredByTheFailureMode(FailureMode mode) throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), CONFIG);
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    RateLimitOptions options = new RateLimitOptions(dir, "127.0.0.1", 0, mode, Duration.ofHours(1), 1);
    try (RateLimitServer server = RateLimitServer.start(options, new ManualClock(Instant.ofEpochSecond(NOW)), scheduler,
        new SimpleMeterRegistry())) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertThat(stub.shouldRateLimit(request("envoy", desc("remote_address", "a"))))
            .isEqualTo(response(Code.OK, perIp(2)));
        RateLimitResponse full = stub.shouldRateLimit(request("envoy", desc("remote_address", "b")));
        assertThat(full).isEqualTo(mode == FailureMode.ALLOW
            ? response(Code.OK, perIp(3))
            : response(Code.OVER_LIMIT, PER_IP_OVER));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** Sanity for the table's clock arithmetic: NOW is 20 s into a minute and 800 s into an hour. */
  @org.junit.jupiter.api.Test
  void clockAnchors() {
    assertThat(NOW % 60).isEqualTo(20);
    assertThat(NOW % 3600).isEqualTo(800);
    assertThat(Duration.ofSeconds(60 - NOW % 60)).isEqualTo(Duration.ofSeconds(40));
  }
}

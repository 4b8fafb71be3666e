package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.ComponentStatus;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.Await;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, reload on change and refused reloads, over a real socket and the real admin server. */
class RateLimitServerTest {

  static String config(int requestsPerUnit) {
    return """
        domain: envoy
        descriptors:
          - key: remote_address
            rate_limit: {unit: minute, requests_per_unit: %d}
        """.formatted(requestsPerUnit);
  }

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.ofEpochSecond(RateLimitServiceTest.NOW));
  private ScheduledExecutorService scheduler;
  private ManagedChannel channel;

  @BeforeEach
  void scheduler() {
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    scheduler.shutdownNow();
  }

  private RateLimitServer start(Duration reloadInterval) throws Exception {
    RateLimitOptions defaults = RateLimitOptions.DEFAULTS;
    RateLimitOptions options = new RateLimitOptions(dir, defaults.host(), 0, FailureMode.ALLOW, reloadInterval,
        defaults.maxCounters());
    return RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry());
  }

  /** The current_limit.requests_per_unit that remote_address=a gets now (one hit). */
  private int limitNow(RateLimitServer server) {
    if (channel == null) {
      channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }
    RateLimitResponse response = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .shouldRateLimit(request("envoy", desc("remote_address", "a")));
    return response.getStatuses(0).getCurrentLimit().getRequestsPerUnit();
  }

  @Test
  void aChangedFileReloadsAndTheNewLimitApplies() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), config(5));
    try (RateLimitServer server = start(Duration.ofHours(1))) {
      String first = server.revision();
      assertThat(limitNow(server)).isEqualTo(5);
      assertThat(server.reloadIfChanged()).as("nothing changed").isFalse();

      Files.writeString(dir.resolve("envoy.yaml"), config(7));
      assertThat(server.reloadIfChanged()).isTrue();
      assertThat(limitNow(server)).isEqualTo(7);
      assertThat(server.revision()).isNotEqualTo(first).hasSize(16);
      assertThat(server.status()).isEqualTo(ComponentStatus.ready("ratelimit", server.revision(),
          Map.of("grpc", "127.0.0.1:" + server.port(), "store", "memory")));
    }
  }

  @Test
  void countersSurviveAReload() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), config(5));
    try (RateLimitServer server = start(Duration.ofHours(1))) {
      limitNow(server);
      limitNow(server);
      Files.writeString(dir.resolve("envoy.yaml"), config(3));
      server.reloadIfChanged();
      RateLimitResponse third = RateLimitServiceGrpc.newBlockingStub(channel)
          .shouldRateLimit(request("envoy", desc("remote_address", "a")));
      assertThat(third.getStatuses(0).getLimitRemaining()).as("3 - 3 hits").isZero();
      assertThat(third.getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    }
  }

  @Test
  void aBrokenFileKeepsTheLastGoodConfigAndStatusShowsWhy() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), config(5));
    try (RateLimitServer server = start(Duration.ofHours(1));
        Metrics metrics = Metrics.create();
        AdminServer admin = AdminServer.start(new AdminOptions("127.0.0.1", 0), metrics, "ratelimit", false, clock)) {
      admin.register(server);
      String good = server.revision();

      Files.writeString(dir.resolve("envoy.yaml"), """
          domain: envoy
          descriptors:
            - key: remote_address
              rate_limit: {unit: fortnight, requests_per_unit: 7}
          """);
      assertThat(server.reloadIfChanged()).isFalse();
      assertThat(server.reloadIfChanged()).as("the same broken content is refused once").isFalse();
      assertThat(server.loadErrors()).isEqualTo(1);
      assertThat(limitNow(server)).as("the last good config serves").isEqualTo(5);
      assertThat(server.revision()).isEqualTo(good);
      ComponentStatus status = server.status();
      assertThat(status.ready()).isTrue();
      assertThat(status.lastError())
          .startsWith("config reload refused, revision " + good + " keeps serving: 1 error: ")
          .contains(dir.resolve("envoy.yaml") + ":4:");

      HttpResponse<String> body = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + admin.endpoint() + "/status")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(body.body()).contains("\"component\":\"ratelimit\"").contains("\"revision\":\"" + good + "\"")
          .contains("\"last_error\":\"config reload refused");

      Files.writeString(dir.resolve("envoy.yaml"), config(9));
      assertThat(server.reloadIfChanged()).isTrue();
      assertThat(limitNow(server)).isEqualTo(9);
      assertThat(server.status().lastError()).as("cleared by a good load").isNull();
    }
  }

  @Test
  void theSchedulerPollsTheDirectory() throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), config(5));
    try (RateLimitServer server = start(Duration.ofMillis(20))) {
      Files.writeString(dir.resolve("other.yml"), "domain: other\ndescriptors: []\n");
      Await.until(Duration.ofSeconds(10), () -> server.config().hasDomain("other"),
          () -> "the poll to load other.yml; domains " + server.config().domains());
      assertThat(server.config().domains()).containsExactly("envoy", "other");
    }
  }

  @Test
  void doesNotStartWithoutAValidConfig() throws Exception {
    assertThatThrownBy(() -> RateLimitServer.start(RateLimitOptions.DEFAULTS.withConfigDir(dir.resolve("missing"))
        .withPort(0), clock, scheduler, new SimpleMeterRegistry()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not a directory");
    Files.writeString(dir.resolve("bad.yaml"), "domain: ''\n");
    assertThatThrownBy(() -> start(Duration.ofHours(1))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("bad.yaml:1:");
  }
}

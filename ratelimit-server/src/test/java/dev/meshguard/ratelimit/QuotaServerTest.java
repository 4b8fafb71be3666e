package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.time.ManualClock;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server with a quota directory, over a real socket: quotas imported at start and on change,
 * enforced in ShouldRateLimit, crossings told to the listener after the response.
 */
class QuotaServerTest {

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-04-30T23:00:00Z"));
  private final List<String> crossings = new CopyOnWriteArrayList<>();
  private ScheduledExecutorService scheduler;
  private ManagedChannel channel;
  private RateLimitServer server;

  @BeforeEach
  void scheduler() {
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    scheduler.shutdownNow();
  }

  static String quota(String tenant, long amount) {
    return """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: %s}
        spec:
          limits:
            - {name: monthly, period: month, amount: %d}
        """.formatted(tenant, amount);
  }

  private void start() throws Exception {
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000).withQuota(QuotaOptions.DEFAULTS.withDir(dir.resolve("quotas"))
        .withTenantKey("org"));
    server = RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry(), ThrottleListener.NONE,
        (tenant, usage, percent) -> crossings.add(tenant + " " + usage.limit().name() + " " + percent + "%"));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  private RateLimitResponse ask(String org) {
    return RateLimitServiceGrpc.newBlockingStub(channel).shouldRateLimit(request("envoy", desc("org", org)));
  }

  @Test
  void quotasFromTheDirectoryAreEnforcedAndReimportedOnChange() throws Exception {
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/acme.yaml"), quota("acme", 5));
    start();
    for (int i = 0; i < 5; i++) {
      assertThat(ask("acme").getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    }
    RateLimitResponse over = ask("acme");
    assertThat(over.getOverallCode()).isEqualTo(RateLimitResponse.Code.OVER_LIMIT);
    RateLimitResponse.DescriptorStatus status = over.getStatuses(0);
    assertThat(status.getCurrentLimit().getName()).isEqualTo("monthly");
    assertThat(status.getCurrentLimit().getRequestsPerUnit()).isEqualTo(5);
    assertThat(status.getCurrentLimit().getUnit()).isEqualTo(RateLimitResponse.RateLimit.Unit.MONTH);
    assertThat(status.getDurationUntilReset().getSeconds()).as("until May 1st").isEqualTo(3600);
    assertThat(crossings).containsExactly("acme monthly 80%", "acme monthly 100%");

    Files.writeString(dir.resolve("quotas/acme.yaml"), quota("acme", 10));
    server.reloadQuotas();
    assertThat(ask("acme").getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    assertThat(server.quotaStore().snapshot().get("acme").managedBy()).isEqualTo(TenantQuota.ManagedBy.YAML);

    Files.delete(dir.resolve("quotas/acme.yaml"));
    server.reloadQuotas();
    assertThat(server.quotaStore().snapshot().isEmpty()).isTrue();
    assertThat(ask("acme").getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
  }

  @Test
  void aBrokenQuotaFileRefusesTheStartAndABrokenChangeKeepsTheQuotas() throws Exception {
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/acme.yaml"), quota("acme", 5).replace("month", "fortnight"));
    assertThatThrownBy(this::start).isInstanceOf(ConfigException.class)
        .hasMessageContaining("acme.yaml:6:35: spec.limits[0].period: unknown period 'fortnight'");

    Files.writeString(dir.resolve("quotas/acme.yaml"), quota("acme", 5));
    start();
    Files.writeString(dir.resolve("quotas/acme.yaml"), quota("acme", -5));
    server.reloadQuotas();
    assertThat(server.status().lastError()).contains("spec.limits[0].amount: must be an integer");
    assertThat(server.quotaStore().snapshot().get("acme").limits().getFirst().amount()).isEqualTo(5);
  }
}

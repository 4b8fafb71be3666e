package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.ratelimit.quota.v1.DeleteQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsAboveRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaResponse;
import dev.meshguard.ratelimit.quota.v1.QuotaServiceGrpc;
import dev.meshguard.ratelimit.quota.v1.TenantRequest;
import dev.meshguard.ratelimit.quota.v1.TenantUsage;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code meshguard.quota.v1.QuotaService} on the rate limit server's gRPC port, over a real socket. */
class QuotaGrpcServiceTest {
  private static final String TOKEN = "grpc-token-51ad";

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-04-30T22:00:00Z"));
  private final List<QuotaAdminApi.Change> changes = new CopyOnWriteArrayList<>();
  private ScheduledExecutorService scheduler;
  private RateLimitServer server;
  private ManagedChannel channel;

  @AfterEach
  void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }

  private void start(Path tokenFile, boolean enable) throws Exception {
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/initech.yaml"), QuotaServerTest.quota("initech", 100));
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000).withQuota(QuotaOptions.DEFAULTS.withDir(dir.resolve("quotas")));
    scheduler = Executors.newSingleThreadScheduledExecutor();
    server = RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry());
    if (enable) {
      QuotaAdminApi.create(server, tokenFile, clock, changes::add);
    }
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  private QuotaServiceGrpc.QuotaServiceBlockingStub stub(String token) {
    QuotaServiceGrpc.QuotaServiceBlockingStub stub = QuotaServiceGrpc.newBlockingStub(channel);
    if (token == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static PutQuotaRequest put(String tenant, int amount, boolean force) {
    return PutQuotaRequest.newBuilder().setForce(force).setQuota(dev.meshguard.ratelimit.quota.v1.TenantQuota.newBuilder()
        .setTenant(tenant)
        .addLimits(dev.meshguard.ratelimit.quota.v1.QuotaLimit.newBuilder().setName("monthly").setPeriod("month")
            .setAmount(amount))).build();
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  @Test
  void theSameOperationsAsTheJsonApiWithTheToken() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, TOKEN);
    start(tokenFile, true);
    var api = stub(TOKEN);
    PutQuotaResponse created = api.putQuota(put("acme", 3, false));
    assertThat(created.getCreated()).isTrue();
    assertThat(created.getQuota().getManagedBy()).isEqualTo("api");
    assertThat(created.getQuota().getLimits(0).getAmount()).isEqualTo(3);
    for (int i = 0; i < 3; i++) {
      RateLimitServiceGrpc.newBlockingStub(channel).shouldRateLimit(request("envoy", desc("tenant", "acme")));
    }
    assertThat(RateLimitServiceGrpc.newBlockingStub(channel).shouldRateLimit(request("envoy", desc("tenant", "acme")))
        .getOverallCode()).isEqualTo(RateLimitResponse.Code.OVER_LIMIT);

    TenantUsage usage = api.getUsage(TenantRequest.newBuilder().setTenant("acme").build());
    assertThat(usage.getLimits(0).getUsed()).isEqualTo(3);
    assertThat(usage.getLimits(0).getRemaining()).isZero();
    assertThat(usage.getLimits(0).getPercent()).isEqualTo(100.0);
    assertThat(usage.getLimits(0).getResetsAt()).isEqualTo("2026-05-01T00:00:00Z");
    assertThat(api.listTenantsAbove(ListTenantsAboveRequest.newBuilder().setAbove(0.8).build()).getTenantsList())
        .extracting(TenantUsage::getTenant).containsExactly("acme");
    assertThat(api.listTenants(ListTenantsRequest.getDefaultInstance()).getTenantsCount()).isEqualTo(2);

    assertThat(api.resetUsage(TenantRequest.newBuilder().setTenant("acme").build()).getLimits(0).getUsed()).isZero();
    assertThat(api.putQuota(put("acme", 5, false)).getCreated()).isFalse();
    assertThat(api.getQuota(TenantRequest.newBuilder().setTenant("acme").build()).getLimits(0).getAmount())
        .isEqualTo(5);
    assertThat(api.deleteQuota(DeleteQuotaRequest.newBuilder().setTenant("acme").build()).getTenant())
        .isEqualTo("acme");
    assertThat(code(() -> api.getQuota(TenantRequest.newBuilder().setTenant("acme").build())))
        .isEqualTo(Status.Code.NOT_FOUND);

    assertThat(code(() -> api.putQuota(put("initech", 5, false)))).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThatThrownBy(() -> api.putQuota(put("acme", 5, false).toBuilder()
        .setQuota(put("acme", 5, false).getQuota().toBuilder().setLimits(0,
            dev.meshguard.ratelimit.quota.v1.QuotaLimit.newBuilder().setName("m").setPeriod("fortnight").setAmount(1)))
        .build()))
        .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("INVALID_ARGUMENT")
        .hasMessageContaining("limits[0].period");

    assertThat(changes).extracting(QuotaAdminApi.Change::operation)
        .containsExactly("create", "reset", "replace", "delete");
    assertThat(changes).allSatisfy(c -> assertThat(c.caller()).isEqualTo(QuotaAdminApi.CALLER_TOKEN));
  }

  @Test
  void callsWithoutTheRightTokenAreRefused() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, TOKEN);
    start(tokenFile, true);
    assertThat(code(() -> stub(null).putQuota(put("acme", 3, false)))).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(code(() -> stub("nope").putQuota(put("acme", 3, false)))).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(code(() -> stub(null).listTenants(ListTenantsRequest.getDefaultInstance())))
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(changes).isEmpty();
    assertThat(server.quotaStore().snapshot().get("acme")).isNull();
  }

  @Test
  void withoutATokenConfiguredEveryCallIsRefused() throws Exception {
    start(null, true);
    assertThat(code(() -> stub(null).listTenants(ListTenantsRequest.getDefaultInstance())))
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(code(() -> stub("anything").putQuota(put("acme", 3, false)))).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void beforeTheApiIsEnabledTheServiceIsUnavailable() throws Exception {
    start(null, false);
    assertThat(code(() -> stub(TOKEN).listTenants(ListTenantsRequest.getDefaultInstance())))
        .isEqualTo(Status.Code.UNAVAILABLE);
  }
}

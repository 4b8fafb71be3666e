package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.DecisionTls;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.ratelimit.quota.v1.ListTenantsRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.QuotaServiceGrpc;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on the rate limit server's gRPC port, over real sockets with real certificates: Envoy's
 * {@code ShouldRateLimit} needs an allow-listed SVID; the quota service admits its own admins by
 * SVID or the token holder, and refuses everyone else.
 */
class RateLimitPortTlsTest {
  private static final String TOKEN = "tls-quota-token-7c1e";
  private static final String ENVOY = "spiffe://cluster.local/ns/istio-system/sa/ingress";
  private static final String APP = "spiffe://cluster.local/ns/web/sa/frontend";
  private static final String ADMIN = "spiffe://cluster.local/ns/ops/sa/quota-admin";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static Crypto crypto;

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-05-20T10:00:00Z"));
  private final List<QuotaAdminApi.Change> changes = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private ScheduledExecutorService scheduler;
  private TestCa ca;
  private Path bundle;
  private RateLimitServer server;

  @BeforeAll
  static void installCrypto() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @BeforeEach
  void setUp() throws Exception {
    ca = TestCa.create("cluster.local");
    bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), """
        domain: envoy
        descriptors:
          - key: generic_key
            value: api
            rate_limit: {unit: minute, requests_per_unit: 2}
        """);
    Files.writeString(dir.resolve("token"), TOKEN);
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    if (server != null) {
      server.close();
    }
    scheduler.shutdownNow();
  }

  private RateLimitOptions options() {
    CertFiles cert = ca.leaf("spiffe://cluster.local/ns/meshguard/sa/ratelimit").issue().writeTo(dir, "server");
    return new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW, Duration.ofHours(1), 1000)
        .withTls(new DecisionTls(cert.chain(), cert.key(), bundle, List.of("spiffe://cluster.local/ns/istio-system/*")))
        .withQuota(QuotaOptions.DEFAULTS.withApiTokenFile(dir.resolve("token")).withAdminSpiffeIds(List.of(ADMIN)));
  }

  private void start(RateLimitOptions options) throws Exception {
    server = RateLimitServer.start(options, crypto, clock, scheduler, new SimpleMeterRegistry(), ThrottleListener.NONE,
        QuotaListener.NONE);
    QuotaAdminApi.create(server, options.quota().apiTokenFile(), clock, changes::add);
  }

  /** A TLS channel presenting the certificate of {@code spiffeId}, or none when null. */
  private ManagedChannel channel(String spiffeId) throws Exception {
    TlsOptions.Builder tls = TlsOptions.builder().trustBundleFile(bundle)
        .allowedPeers(SpiffeIdAllowList.parse("test", List.of("spiffe://cluster.local/ns/meshguard/sa/ratelimit")))
        .reloadInterval(Duration.ZERO);
    if (spiffeId != null) {
      CertFiles client = ca.leaf(spiffeId).issue().writeTo(dir, "client-" + Integer.toHexString(spiffeId.hashCode()));
      tls.certFile(client.chain()).keyFile(client.key());
    }
    TlsContext context = TlsContext.forClient(tls.build(), crypto, null);
    closing.add(context);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .sslContext(context.sslContext()).build();
    closing.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  private static RateLimitServiceGrpc.RateLimitServiceBlockingStub rls(ManagedChannel channel) {
    return RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static QuotaServiceGrpc.QuotaServiceBlockingStub quota(ManagedChannel channel, String token) {
    QuotaServiceGrpc.QuotaServiceBlockingStub stub = QuotaServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(20, TimeUnit.SECONDS);
    if (token == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static PutQuotaRequest put(String tenant, int amount) {
    return PutQuotaRequest.newBuilder().setQuota(dev.meshguard.ratelimit.quota.v1.TenantQuota.newBuilder()
        .setTenant(tenant)
        .addLimits(dev.meshguard.ratelimit.quota.v1.QuotaLimit.newBuilder().setName("monthly").setPeriod("month")
            .setAmount(amount))).build();
  }

  private static Status refusal(Runnable call) {
    try {
      call.run();
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  @Test
  void anAllowListedProxyIsServedOverMtls() throws Exception {
    start(options());
    assertThat(server.tls()).isTrue();
    var envoy = rls(channel(ENVOY));
    var api = request("envoy", desc("generic_key", "api"));
    assertThat(envoy.shouldRateLimit(api).getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    assertThat(envoy.shouldRateLimit(api).getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    assertThat(envoy.shouldRateLimit(api).getOverallCode()).as("the third of 2 per minute")
        .isEqualTo(RateLimitResponse.Code.OVER_LIMIT);
    assertThat(envoy.shouldRateLimit(api).getStatuses(0).getCurrentLimit().getRequestsPerUnit()).isEqualTo(2);
  }

  @Test
  void aClientOutsideTheAllowListOrWithoutACertificateIsRefused() throws Exception {
    start(options());
    var api = request("envoy", desc("generic_key", "api"));
    ManagedChannel appChannel = channel(APP);
    ManagedChannel anonymousChannel = channel(null);
    ManagedChannel adminChannel = channel(ADMIN);
    Status app = refusal(() -> rls(appChannel).shouldRateLimit(api));
    assertThat(app.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(app.getDescription()).contains(APP);
    Status anonymous = refusal(() -> rls(anonymousChannel).shouldRateLimit(api));
    assertThat(anonymous.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(anonymous.getDescription()).contains("no client certificate");
    Status quotaAdmin = refusal(() -> rls(adminChannel).shouldRateLimit(api));
    assertThat(quotaAdmin.getCode()).as("a quota admin is not a proxy").isEqualTo(Status.Code.PERMISSION_DENIED);
    Status health = refusal(() -> HealthGrpc.newBlockingStub(appChannel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()));
    assertThat(health.getCode()).as("who may not call may not probe").isEqualTo(Status.Code.PERMISSION_DENIED);

    ManagedChannel plaintext = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    closing.add(() -> plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    assertThat(refusal(() -> rls(plaintext).shouldRateLimit(api)).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(server.engine().decide("envoy", List.of(Descriptor.of("generic_key", "api")), 1).statuses().getFirst()
        .limitRemaining())
        .as("no refused call was counted").isEqualTo(1);
  }

  @Test
  void theQuotaServiceAdmitsItsAdminsByCertificateOrTheTokenHolder() throws Exception {
    start(options());
    assertThat(quota(channel(ADMIN), null).putQuota(put("acme", 10)).getCreated()).isTrue();
    assertThat(quota(channel(null), TOKEN).putQuota(put("acme", 20)).getCreated()).isFalse();
    assertThat(quota(channel(APP), TOKEN).putQuota(put("acme", 30)).getCreated()).as("any client with the token")
        .isFalse();
    assertThat(quota(channel(ADMIN), "wrong").listTenants(ListTenantsRequest.getDefaultInstance()).getTenantsCount())
        .as("an admin certificate is enough; the header is not read").isEqualTo(1);
    assertThat(changes).extracting(QuotaAdminApi.Change::caller)
        .containsExactly(ADMIN, QuotaAdminApi.CALLER_TOKEN, QuotaAdminApi.CALLER_TOKEN);
  }

  @Test
  void theQuotaServiceRefusesEveryoneElseSaying() throws Exception {
    start(options());
    ManagedChannel envoyChannel = channel(ENVOY);
    ManagedChannel anonymousChannel = channel(null);
    ManagedChannel appChannel = channel(APP);
    Status envoy = refusal(() -> quota(envoyChannel, null).putQuota(put("acme", 10)));
    assertThat(envoy.getCode()).as("allowed to ask ShouldRateLimit, not to change quotas")
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(envoy.getDescription()).contains(ENVOY).contains("ratelimit.quota.admin_spiffe_ids");
    Status anonymous = refusal(() -> quota(anonymousChannel, null).putQuota(put("acme", 10)));
    assertThat(anonymous.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(anonymous.getDescription()).contains("client certificate").contains("bearer token");
    Status wrongToken = refusal(() -> quota(appChannel, "not-" + TOKEN).putQuota(put("acme", 10)));
    assertThat(wrongToken.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(wrongToken.getDescription()).doesNotContain(TOKEN);
    assertThat(changes).isEmpty();
    assertThat(server.quotaStore().snapshot().get("acme")).isNull();
  }

  @Test
  void withoutAdminIdsACertificateAloneIsNotEnough() throws Exception {
    RateLimitOptions options = options();
    start(options.withQuota(options.quota().withAdminSpiffeIds(List.of())));
    ManagedChannel adminChannel = channel(ADMIN);
    Status admin = refusal(() -> quota(adminChannel, null).listTenants(ListTenantsRequest.getDefaultInstance()));
    assertThat(admin.getCode()).as("an empty admin list is nobody, not any authenticated peer")
        .isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void misconfigurationsRefuseTheStartNamingTheSetting() {
    RateLimitOptions options = options();
    assertThatThrownBy(() -> start(options.withTls(null)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors().getFirst().path())
            .isEqualTo("ratelimit.quota.admin_spiffe_ids"));
    DecisionTls tls = options.tls();
    assertThatThrownBy(() -> start(options.withTls(new DecisionTls(tls.certFile(), tls.keyFile(), tls.trustBundleFile(),
        List.of("spiffe://cluster.local")))))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors().getFirst().path())
            .isEqualTo("ratelimit.tls.allowed_peers[0]"));
    assertThatThrownBy(() -> start(options.withQuota(options.quota().withAdminSpiffeIds(List.of("not-spiffe")))))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors().getFirst().path())
            .isEqualTo("ratelimit.quota.admin_spiffe_ids[0]"));
    server = null;
  }
}

package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.DecisionTls;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.JdkSslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS on the rate limit port in FIPS mode (approved-only fork): BCJSSE on the FIPS module serves mTLS. */
@Tag("fips")
class RateLimitPortFipsTest {

  @TempDir
  Path dir;

  @Test
  void theFipsProviderServesShouldRateLimitOverMtls() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.FIPS);
    TestCa ca = TestCa.create("cluster.local");
    Path bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    CertFiles server = ca.leaf("spiffe://cluster.local/ns/meshguard/sa/ratelimit").issue().writeTo(dir, "server");
    CertFiles envoy = ca.leaf("spiffe://cluster.local/ns/istio-system/sa/ingress").issue().writeTo(dir, "envoy");
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), """
        domain: envoy
        descriptors:
          - key: generic_key
            value: api
            rate_limit: {unit: minute, requests_per_unit: 1}
        """);
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000).withTls(new DecisionTls(server.chain(), server.key(), bundle,
            List.of("spiffe://cluster.local/ns/istio-system/*")));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (RateLimitServer rls = RateLimitServer.start(options, crypto, new ManualClock(Instant.parse(
        "2026-05-20T10:00:00Z")), scheduler, new SimpleMeterRegistry(), ThrottleListener.NONE, QuotaListener.NONE);
        TlsContext client = TlsContext.forClient(TlsOptions.builder().trustBundleFile(bundle).certFile(envoy.chain())
            .keyFile(envoy.key()).allowedPeers(SpiffeIdAllowList.ANY_AUTHENTICATED).reloadInterval(Duration.ZERO)
            .build(), crypto, null)) {
      assertThat(((JdkSslContext) rls.tlsContext().sslContext()).context().getProvider().getName())
          .isEqualTo("BCJSSE");
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", rls.port()).sslContext(client.sslContext())
          .build();
      try {
        var stub = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertThat(stub.shouldRateLimit(request("envoy", desc("generic_key", "api"))).getOverallCode())
            .isEqualTo(RateLimitResponse.Code.OK);
        assertThat(stub.shouldRateLimit(request("envoy", desc("generic_key", "api"))).getOverallCode())
            .isEqualTo(RateLimitResponse.Code.OVER_LIMIT);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }
}

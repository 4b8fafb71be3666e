package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mTLS on the decision port with a SPIFFE ID allow-list: only the mesh's proxies may ask. */
class DecisionPortMtlsTest {

  @TempDir
  Path dir;

  @Test
  void onlyAllowListedProxiesMayCallCheck() throws Exception {
    Crypto crypto = AuthzFixture.crypto();
    TestCa ca = TestCa.create("cluster.local");
    Path bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    CertFiles server = ca.leaf("spiffe://cluster.local/ns/meshguard/sa/authz").issue().writeTo(dir, "server");
    CertFiles gateway = ca.leaf("spiffe://cluster.local/ns/istio-system/sa/ingress").issue().writeTo(dir, "gateway");
    CertFiles app = ca.leaf("spiffe://cluster.local/ns/web/sa/frontend").issue().writeTo(dir, "app");
    Path policies = Files.createDirectories(dir.resolve("policies"));
    Files.writeString(policies.resolve("shop.yaml"), AuthzFixture.POLICIES);

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    AuthzOptions options = AuthzOptions.DEFAULTS.withPolicies(List.of(policies)).withPort(0).withHttpPort(0)
        .withTls(new AuthzOptions.DecisionTls(server.chain(), server.key(), bundle,
            List.of("spiffe://cluster.local/ns/istio-system/*")));
    try (AuthzServer authz = AuthzServer.start(options, crypto, Clock.SYSTEM, scheduler, new SimpleMeterRegistry(),
        DecisionAudit.NONE)) {
      var request = EnvoyCheckRequests.http("GET", "/orders").principal(AuthzFixture.FRONTEND)
          .workload("shop", "app=orders").build();
      Integer code = call(crypto, authz.port(), gateway, bundle, stub -> stub.check(request).getStatus().getCode());
      assertThat(code).as("an allow-listed proxy is answered").isZero();
      assertThatThrownBy(() -> call(crypto, authz.port(), app, bundle, stub -> stub.check(request)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains("spiffe://cluster.local/ns/web/sa/frontend");
          });
    } finally {
      scheduler.shutdownNow();
    }
  }

  private static <T> T call(Crypto crypto, int port, CertFiles client, Path bundle,
      java.util.function.Function<AuthorizationGrpc.AuthorizationBlockingStub, T> body) throws Exception {
    try (TlsContext tls = TlsContext.forClient(TlsOptions.builder().certFile(client.chain()).keyFile(client.key())
        .trustBundleFile(bundle).allowedPeers(SpiffeIdAllowList.ANY_AUTHENTICATED).reloadInterval(Duration.ZERO)
        .build(), crypto, null)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls.sslContext()).build();
      try {
        return body.apply(AuthorizationGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}

package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.DecisionTls;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
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
    AuthzOptions options = AuthzOptions.builder().policies(List.of(policies)).port(0).httpPort(0)
        .tls(new DecisionTls(server.chain(), server.key(), bundle,
            List.of("spiffe://cluster.local/ns/istio-system/*"))).build();
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

  /** The HTTP service mode's port takes the same TLS context and allow-list. */
  @Test
  void onlyAllowListedProxiesMayAskOverHttp() throws Exception {
    Crypto crypto = AuthzFixture.crypto();
    TestCa ca = TestCa.create("cluster.local");
    Path bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    CertFiles server = ca.leaf("spiffe://cluster.local/ns/meshguard/sa/authz").issue().writeTo(dir, "server");
    TestCert gateway = ca.leaf("spiffe://cluster.local/ns/istio-system/sa/ingress").issue();
    TestCert app = ca.leaf("spiffe://cluster.local/ns/web/sa/frontend").issue();
    Path policies = Files.createDirectories(dir.resolve("policies"));
    Files.writeString(policies.resolve("shop.yaml"), HttpAuthzEndpointTest.POLICIES);

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    AuthzOptions options = AuthzOptions.builder().policies(List.of(policies)).port(0).httpPort(0)
        .defaultNamespace("shop")
        .tls(new DecisionTls(server.chain(), server.key(), bundle,
            List.of("spiffe://cluster.local/ns/istio-system/*"))).build();
    try (AuthzServer authz = AuthzServer.start(options, crypto, Clock.SYSTEM, scheduler, new SimpleMeterRegistry(),
        DecisionAudit.NONE)) {
      assertThat(httpsGet(authz.httpPort(), gateway, ca, "/authz/api/orders")).as("allow-listed, allowed").isEqualTo(200);
      assertThat(httpsGet(authz.httpPort(), gateway, ca, "/authz/other")).as("allow-listed, denied").isEqualTo(403);
      assertThat(httpsGet(authz.httpPort(), app, ca, "/authz/api/orders")).as("not allow-listed").isEqualTo(403);
      assertThat(httpsGet(authz.httpPort(), null, ca, "/authz/api/orders")).as("no client certificate").isEqualTo(-1);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** The status of one GET over TLS presenting {@code client} (none when null); -1 when the handshake is refused. */
  private static int httpsGet(int port, TestCert client, TestCa ca, String path) throws Exception {
    char[] password = "x".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    if (client != null) {
      keys.setKeyEntry("client", client.privateKey(), password, client.chain().toArray(new Certificate[0]));
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    // SSLSocket checks no host name (the server's SVID has none); the chain is checked against the CA.
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      try {
        socket.startHandshake();
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return HttpAuthzEndpointTest.readResponse(socket.getInputStream()).status();
      } catch (SSLException | java.net.SocketException e) {
        return -1; // TLS 1.3 reports a refused client certificate on the first read
      } catch (java.io.IOException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("connection closed")) {
          return -1;
        }
        throw e;
      }
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

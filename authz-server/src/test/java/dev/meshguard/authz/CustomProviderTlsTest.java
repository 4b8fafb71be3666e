package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.tls.PeerAuthorizationInterceptor;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CUSTOM providers over real TLS: a gRPC provider (a grpc-java server on core's TLS context) and
 * an HTTPS provider (the JDK's HttpsServer), each with its own test CA and each requiring
 * meshguard's client certificate (mTLS). meshguard must trust only the configured CA, check the
 * provider's certificate against the {@code service} host, and present its certificate; a
 * provider it cannot reach securely gets the provider's failure mode (deny here).
 */
class CustomProviderTlsTest {

  private static final String MESHGUARD_ID = "spiffe://cluster.local/ns/mesh/sa/meshguard";

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();
  private TestCa providerCa;
  private Path providerCaFile;
  private CertFiles meshguardCert;
  private Path meshguardCaFile;
  private TestCa meshguardCa;

  @BeforeEach
  void certificates() throws Exception {
    providerCa = TestCa.create("provider.test");
    providerCaFile = providerCa.writeBundle(dir.resolve("provider-ca.pem"));
    meshguardCa = TestCa.create("cluster.local");
    meshguardCaFile = meshguardCa.writeBundle(dir.resolve("meshguard-ca.pem"));
    meshguardCert = meshguardCa.leaf(MESHGUARD_ID).issue().writeTo(dir, "meshguard");
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  private AuthzFixture meshguard(String name, String meshConfig, Map<String, ProviderTls> tls) throws Exception {
    Path home = Files.createDirectories(dir.resolve(name));
    AuthzOptions options = AuthzOptions.builder()
        .meshConfig(Files.writeString(home.resolve("mesh.yaml"), meshConfig))
        .customProviderTls(tls).build();
    AuthzFixture f = AuthzFixture.start(home, options, CustomProviderTest.customPolicies("ext"), null);
    closing.add(f);
    return f;
  }

  private static CheckRequest orders(boolean allow) {
    EnvoyCheckRequests.Builder b = EnvoyCheckRequests.http("GET", "/orders/7").workload("shop", "app=orders");
    return (allow ? b.header("x-allow", "yes") : b).build();
  }

  /** The provider's server certificate, for 127.0.0.1. */
  private CertFiles providerCert() {
    return providerCa.leaf("spiffe://provider.test/ext-authz").ipAddress("127.0.0.1").issue().writeTo(dir, "provider");
  }

  // ---- gRPC ----

  /** A gRPC provider on TLS requiring a client certificate from meshguard's CA; allows with x-allow. */
  private GrpcServer grpcProvider(List<String> peers) throws Exception {
    CertFiles server = providerCert();
    TlsContext tls = TlsContext.forServer(TlsOptions.builder().certFile(server.chain()).keyFile(server.key())
        .trustBundleFile(meshguardCaFile).clientAuth(TlsOptions.ClientAuth.REQUIRE).reloadInterval(Duration.ZERO)
        .build(), AuthzFixture.crypto(), null);
    closing.add(tls);
    GrpcServer provider = GrpcServer.builder().port(0).tls(tls).addService(new AuthorizationGrpc.AuthorizationImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
        SpiffeId peer = PeerAuthorizationInterceptor.PEER_SPIFFE_ID.get();
        peers.add(peer == null ? "none" : peer.toString());
        boolean allow = request.getAttributes().getRequest().getHttp().getHeadersMap().containsKey("x-allow");
        observer.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder()
            .setCode(allow ? 0 : AuthzService.PERMISSION_DENIED)).build());
        observer.onCompleted();
      }
    }).start();
    closing.add(provider);
    return provider;
  }

  private static String grpcMesh(int port) {
    return """
        extensionProviders:
        - name: ext
          envoyExtAuthzGrpc: {service: 127.0.0.1, port: %d, timeout: 30s}
        """.formatted(port);
  }

  @Test
  void aGrpcProviderIsCalledOverMutualTls() throws Exception {
    List<String> peers = new CopyOnWriteArrayList<>();
    GrpcServer provider = grpcProvider(peers);
    AuthzFixture a = meshguard("a", grpcMesh(provider.port()),
        Map.of("ext", new ProviderTls(providerCaFile, meshguardCert.chain(), meshguardCert.key())));

    assertThat(a.stub.check(orders(true)).getStatus().getCode()).isZero();
    assertThat(a.stub.check(orders(false)).getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(peers).as("the provider saw meshguard's client certificate on both calls")
        .containsExactly(MESHGUARD_ID, MESHGUARD_ID);
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "allow")).isEqualTo(1);
  }

  @Test
  void aGrpcProviderThatWantsAClientCertificateRefusesMeshguardWithoutOne() throws Exception {
    List<String> peers = new CopyOnWriteArrayList<>();
    GrpcServer provider = grpcProvider(peers);
    AuthzFixture a = meshguard("a", grpcMesh(provider.port()), Map.of("ext", new ProviderTls(providerCaFile, null, null)));

    assertThat(a.stub.check(orders(true)).getStatus().getCode()).as("failOpen is false: an error denies")
        .isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(peers).isEmpty();
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error")).isEqualTo(1);
  }

  @Test
  void aGrpcProviderWhoseCertificateDoesNotChainToTheConfiguredCaIsRefused() throws Exception {
    List<String> peers = new CopyOnWriteArrayList<>();
    GrpcServer provider = grpcProvider(peers);
    Path otherCa = TestCa.create("provider.test").writeBundle(dir.resolve("other-ca.pem"));
    AuthzFixture a = meshguard("a", grpcMesh(provider.port()),
        Map.of("ext", new ProviderTls(otherCa, meshguardCert.chain(), meshguardCert.key())));

    assertThat(a.stub.check(orders(true)).getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(peers).isEmpty();
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error")).isEqualTo(1);
  }

  // ---- HTTP ----

  /** What the HTTPS provider saw: the request line and the client certificate's URI SAN. */
  record Seen(String requestLine, String clientId, String protocol) {}

  /** An HTTPS provider (JDK HttpsServer) requiring a client certificate from meshguard's CA; allows with x-allow. */
  private HttpsServer httpsProvider(TestCert serverLeaf, List<Seen> seen) throws Exception {
    HttpsServer server = TestHttpsServers.start(TestHttpsServers.context(null, serverLeaf, meshguardCa.certificate()), true,
        exchange -> {
          HttpsExchange https = (HttpsExchange) exchange;
          String clientId = "none";
          try {
            X509Certificate client = (X509Certificate) https.getSSLSession().getPeerCertificates()[0];
            clientId = String.valueOf(client.getSubjectAlternativeNames().iterator().next().get(1));
          } catch (Exception e) {
            clientId = "unreadable: " + e;
          }
          URI uri = exchange.getRequestURI();
          seen.add(new Seen(exchange.getRequestMethod() + " " + uri, clientId, https.getSSLSession().getProtocol()));
          boolean allow = exchange.getRequestHeaders().containsKey("x-allow");
          exchange.sendResponseHeaders(allow ? 200 : 403, -1);
          exchange.close();
        });
    closing.add(() -> server.stop(0));
    return server;
  }

  private static String httpMesh(int port) {
    return """
        extensionProviders:
        - name: ext
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            timeout: 30s
            pathPrefix: /check
            includeRequestHeadersInCheck: [x-allow]
        """.formatted(port);
  }

  @Test
  void anHttpProviderIsCalledOverHttpsWithAClientCertificate() throws Exception {
    List<Seen> seen = new CopyOnWriteArrayList<>();
    TestCert serverLeaf = providerCa.leaf("spiffe://provider.test/ext-authz").ipAddress("127.0.0.1").issue();
    HttpsServer provider = httpsProvider(serverLeaf, seen);
    AuthzFixture a = meshguard("a", httpMesh(provider.getAddress().getPort()),
        Map.of("ext", new ProviderTls(providerCaFile, meshguardCert.chain(), meshguardCert.key())));

    assertThat(a.stub.check(orders(true)).getStatus().getCode()).isZero();
    CheckResponse denied = a.stub.check(orders(false));
    assertThat(denied.getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(denied.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(403);
    assertThat(seen).extracting(Seen::requestLine).containsExactly("GET /check/orders/7", "GET /check/orders/7");
    assertThat(seen).extracting(Seen::clientId).containsOnly(MESHGUARD_ID);
    assertThat(seen).extracting(Seen::protocol).containsOnly("TLSv1.3");
  }

  @Test
  void anHttpsProviderWhoseCertificateNamesAnotherHostIsRefused() throws Exception {
    List<Seen> seen = new CopyOnWriteArrayList<>();
    TestCert otherHost = providerCa.leaf("spiffe://provider.test/ext-authz").dnsNames("other.example").issue();
    HttpsServer provider = httpsProvider(otherHost, seen);
    AuthzFixture a = meshguard("a", httpMesh(provider.getAddress().getPort()),
        Map.of("ext", new ProviderTls(providerCaFile, meshguardCert.chain(), meshguardCert.key())));

    assertThat(a.stub.check(orders(true)).getStatus().getCode())
        .as("the certificate chains to the CA but is not for 127.0.0.1: host name verification refuses it")
        .isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(seen).isEmpty();
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error")).isEqualTo(1);
  }

  @Test
  void unreadableTlsFilesStopTheServerFromStartingAndNameTheFile() throws Exception {
    Path missing = dir.resolve("missing-ca.pem");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> meshguard("a", grpcMesh(1),
        Map.of("ext", new ProviderTls(missing, null, null))));
    assertThat(e).isNotNull();
    assertThat(e.errors()).extracting(ConfigError::render).singleElement().asString().contains(missing.toString());
  }
}

package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CUSTOM providers whose TLS material changes while meshguard runs, and the per-provider server
 * identity ({@code server_name}, {@code spiffe_id}), against real TLS providers (a grpc-java
 * server on core's TLS context, the JDK's HttpsServer) that record what each call's TLS session
 * carried: the client certificate's serial and the SNI. Reloads are driven by
 * {@link AuthzServer#reloadIfChanged()}, the method the server's poll runs, so no test waits.
 */
class CustomProviderTlsReloadTest {

  private static final String MESHGUARD_ID = "spiffe://cluster.local/ns/mesh/sa/meshguard";
  private static final String PROVIDER_ID = "spiffe://provider.test/ns/authz/sa/ext-authz";
  private static final String PROVIDER_NAME = "ext-authz.provider.test";
  private static final String RELOADS = "meshguard.authz.custom.provider.tls.reloads";

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private TestCa providerCa;
  private Path providerCaFile;
  private TestCa meshguardCa;
  private Path meshguardCaFile;
  private TestCert meshguardV1;
  private CertFiles meshguardFiles;

  /** What the provider saw on one call: the client certificate's serial (hex) and the SNI it was sent. */
  record Seen(String clientSerial, String sni) {
    static Seen of(SSLSession session) {
      String serial;
      try {
        serial = ((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber().toString(16);
      } catch (SSLPeerUnverifiedException e) {
        serial = "none";
      }
      String sni = "none";
      if (session instanceof ExtendedSSLSession extended) {
        for (SNIServerName name : extended.getRequestedServerNames()) {
          if (name instanceof SNIHostName host) {
            sni = host.getAsciiName();
          }
        }
      }
      return new Seen(serial, sni);
    }
  }

  @BeforeEach
  void certificates() throws Exception {
    providerCa = TestCa.create("provider.test");
    providerCaFile = providerCa.writeBundle(dir.resolve("provider-ca.pem"));
    meshguardCa = TestCa.create("cluster.local");
    meshguardCaFile = meshguardCa.writeBundle(dir.resolve("meshguard-ca.pem"));
    meshguardV1 = meshguardCa.leaf(MESHGUARD_ID).issue();
    meshguardFiles = meshguardV1.writeTo(dir, "meshguard");
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  private AuthzFixture meshguard(String meshConfig, ProviderTls tls) throws Exception {
    Path home = Files.createDirectories(dir.resolve("meshguard-home"));
    AuthzOptions options = AuthzOptions.builder()
        .meshConfig(Files.writeString(home.resolve("mesh.yaml"), meshConfig))
        .customProviderTls(Map.of("ext", tls))
        .build();
    AuthzFixture f = AuthzFixture.start(home, options, CustomProviderTest.customPolicies("ext"), null);
    closing.add(f);
    return f;
  }

  private ProviderTls mtls() {
    return new ProviderTls(providerCaFile, meshguardFiles.chain(), meshguardFiles.key());
  }

  private static CheckRequest allowed() {
    return EnvoyCheckRequests.http("GET", "/orders/7").workload("shop", "app=orders").header("x-allow", "yes").build();
  }

  private static int allowStatus(AuthzFixture f) {
    return f.stub.check(allowed()).getStatus().getCode();
  }

  private static String hex(TestCert cert) {
    return cert.serial().toString(16);
  }

  // ---- providers ----

  /** A gRPC provider on TLS requiring a client certificate from meshguard's CA; allows with x-allow. */
  private int grpcProvider(TestCert serverLeaf) throws Exception {
    CertFiles server = serverLeaf.writeTo(dir, "provider-" + serverLeaf.serial().toString(16));
    TlsContext tls = TlsContext.forServer(TlsOptions.builder().certFile(server.chain()).keyFile(server.key())
        .trustBundleFile(meshguardCaFile).clientAuth(TlsOptions.ClientAuth.REQUIRE).reloadInterval(Duration.ZERO)
        .build(), AuthzFixture.crypto(), null);
    closing.add(tls);
    ServerInterceptor recorder = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        seen.add(Seen.of(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
        return next.startCall(call, headers);
      }
    };
    GrpcServer provider = GrpcServer.builder().port(0).tls(tls).intercept(recorder)
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
            boolean allow = request.getAttributes().getRequest().getHttp().getHeadersMap().containsKey("x-allow");
            observer.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder()
                .setCode(allow ? 0 : AuthzService.PERMISSION_DENIED)).build());
            observer.onCompleted();
          }
        }).start();
    closing.add(provider);
    return provider.port();
  }

  private static String grpcMesh(int port) {
    return """
        extensionProviders:
        - name: ext
          envoyExtAuthzGrpc: {service: 127.0.0.1, port: %d, timeout: 20s}
        """.formatted(port);
  }

  /** An HTTPS provider (JDK HttpsServer) requiring a client certificate from meshguard's CA; allows with x-allow. */
  private int httpsProvider(TestCert serverLeaf) throws Exception {
    HttpsServer server = TestHttpsServers.start(TestHttpsServers.context(null, serverLeaf, meshguardCa.certificate()), true,
        exchange -> {
          seen.add(Seen.of(((HttpsExchange) exchange).getSSLSession()));
          boolean allow = exchange.getRequestHeaders().containsKey("x-allow");
          exchange.sendResponseHeaders(allow ? 200 : 403, -1);
          exchange.close();
        });
    closing.add(() -> server.stop(0));
    return server.getAddress().getPort();
  }

  private static String httpMesh(int port) {
    return """
        extensionProviders:
        - name: ext
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            timeout: 20s
            includeRequestHeadersInCheck: [x-allow]
        """.formatted(port);
  }

  private TestCert providerForIp() {
    return providerCa.leaf(PROVIDER_ID).ipAddress("127.0.0.1").issue();
  }

  // ---- reload ----

  @Test
  void aRotatedClientCertificateIsWhatAGrpcProviderSeesOnTheNextCall() throws Exception {
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(providerForIp())), mtls());
    assertThat(allowStatus(f)).isZero();

    TestCert v2 = meshguardCa.leaf(MESHGUARD_ID).issue();
    v2.writeTo(dir, "meshguard"); // what cert-manager or a SPIRE helper does to the mounted files
    f.server.reloadIfChanged();

    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1), hex(v2));
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "ok")).isEqualTo(1);
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "failed")).isZero();
    assertThat(f.server.status().lastError()).isNull();
  }

  @Test
  void aRotatedClientCertificateIsWhatAnHttpsProviderSeesOnTheNextCall() throws Exception {
    AuthzFixture f = meshguard(httpMesh(httpsProvider(providerForIp())), mtls());
    assertThat(allowStatus(f)).isZero();

    TestCert v2 = meshguardCa.leaf(MESHGUARD_ID).issue();
    v2.writeTo(dir, "meshguard");
    f.server.reloadIfChanged();

    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1), hex(v2));
  }

  @Test
  void aHalfWrittenFileKeepsTheLastGoodMaterialIsReportedAndIsRetriedOnTheNextChange() throws Exception {
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(providerForIp())), mtls());
    assertThat(allowStatus(f)).isZero();

    String whole = Files.readString(meshguardFiles.chain());
    Files.writeString(meshguardFiles.chain(), whole.substring(0, whole.length() / 3)); // cut mid-certificate
    f.server.reloadIfChanged();
    f.server.reloadIfChanged(); // the same bad content: not counted twice

    assertThat(f.counter(RELOADS, "provider", "ext", "result", "failed")).isEqualTo(1);
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "ok")).isZero();
    assertThat(f.server.status().lastError())
        .contains("authz.custom_provider_tls.ext not reloaded, generation 1 keeps serving")
        .contains(meshguardFiles.chain().toString());
    assertThat(f.server.customProviders().tls("ext").certificate().getSerialNumber()).isEqualTo(meshguardV1.serial());
    assertThat(allowStatus(f)).as("the provider is still called with the last good material").isZero();

    TestCert v2 = meshguardCa.leaf(MESHGUARD_ID).issue();
    v2.writeTo(dir, "meshguard");
    f.server.reloadIfChanged();

    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1), hex(meshguardV1), hex(v2));
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "ok")).isEqualTo(1);
    assertThat(f.server.status().lastError()).as("the files load again: nothing to report").isNull();
  }

  @Test
  void aNewCertificateBesideTheOldKeyIsRefusedUntilTheKeyFollows() throws Exception {
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(providerForIp())), mtls());
    assertThat(allowStatus(f)).isZero();

    TestCert v2 = meshguardCa.leaf(MESHGUARD_ID).issue();
    v2.writeChain(meshguardFiles.chain()); // the key is not written yet
    f.server.reloadIfChanged();
    assertThat(f.server.status().lastError()).contains(meshguardFiles.key().toString()).contains("does not belong");
    assertThat(allowStatus(f)).isZero();

    v2.writeKey(meshguardFiles.key());
    f.server.reloadIfChanged();
    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1), hex(meshguardV1), hex(v2));
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "failed")).isEqualTo(1);
    assertThat(f.counter(RELOADS, "provider", "ext", "result", "ok")).isEqualTo(1);
  }

  @Test
  void aNewCaBundleIsTrustedWithoutARestart() throws Exception {
    TestCa rotatedCa = TestCa.create("provider.test");
    int port = grpcProvider(rotatedCa.leaf(PROVIDER_ID).ipAddress("127.0.0.1").issue());
    AuthzFixture f = meshguard(grpcMesh(port), mtls());
    assertThat(allowStatus(f)).as("the provider's new CA is not trusted yet: an error, and failOpen is false")
        .isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(seen).isEmpty();

    TestCa.writeBundle(providerCaFile, providerCa, rotatedCa); // old and new CA, as during a CA rotation
    f.server.reloadIfChanged();

    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1));
  }

  // ---- server_name ----

  private TestCert providerForName() {
    return providerCa.leaf(PROVIDER_ID).dnsNames(PROVIDER_NAME).issue();
  }

  private ProviderTls withServerName(String name) {
    return new ProviderTls(providerCaFile, meshguardFiles.chain(), meshguardFiles.key(), name, null);
  }

  @Test
  void aGrpcProviderReachedByAddressIsCheckedAgainstItsServerNameWhichIsSentAsSni() throws Exception {
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(providerForName())), withServerName(PROVIDER_NAME));
    assertThat(allowStatus(f)).isZero();
    assertThat(seen).containsExactly(new Seen(hex(meshguardV1), PROVIDER_NAME));
  }

  @Test
  void anHttpsProviderReachedByAddressIsCheckedAgainstItsServerNameWhichIsSentAsSni() throws Exception {
    AuthzFixture f = meshguard(httpMesh(httpsProvider(providerForName())), withServerName(PROVIDER_NAME));
    assertThat(allowStatus(f)).isZero();
    assertThat(seen).containsExactly(new Seen(hex(meshguardV1), PROVIDER_NAME));
  }

  @Test
  void aServerNameTheProvidersCertificateDoesNotCarryIsRefused() throws Exception {
    AuthzFixture grpc = meshguard(grpcMesh(grpcProvider(providerForName())), withServerName("other.provider.test"));
    assertThat(allowStatus(grpc)).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(grpc.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error"))
        .isEqualTo(1);
    assertThat(seen).isEmpty();
  }

  @Test
  void anHttpsServerNameTheProvidersCertificateDoesNotCarryIsRefusedEvenWhenItsAddressMatches() throws Exception {
    // The certificate names 127.0.0.1, the address connected to: with server_name set, only that name counts.
    AuthzFixture f = meshguard(httpMesh(httpsProvider(providerForIp())), withServerName(PROVIDER_NAME));
    assertThat(allowStatus(f)).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(f.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error")).isEqualTo(1);
    assertThat(seen).isEmpty();
  }

  // ---- spiffe_id ----

  /** An X.509-SVID as mesh workloads have: a URI SAN, no DNS name, no IP address. */
  private TestCert providerSvid() {
    return providerCa.leaf(PROVIDER_ID).issue();
  }

  private ProviderTls withSpiffeId(String id) {
    return new ProviderTls(providerCaFile, meshguardFiles.chain(), meshguardFiles.key(), null, id);
  }

  @Test
  void aGrpcProviderPresentingTheExpectedSpiffeIdIsCalled() throws Exception {
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(providerSvid())), withSpiffeId(PROVIDER_ID));
    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1));
  }

  @Test
  void anHttpsProviderPresentingTheExpectedSpiffeIdIsCalled() throws Exception {
    // The JDK client forces HTTPS host name verification on its engines; an SVID names no host.
    AuthzFixture f = meshguard(httpMesh(httpsProvider(providerSvid())), withSpiffeId(PROVIDER_ID));
    assertThat(allowStatus(f)).isZero();
    assertThat(seen).extracting(Seen::clientSerial).containsExactly(hex(meshguardV1));
  }

  @Test
  void aProviderPresentingAnotherSpiffeIdIsRefused() throws Exception {
    AuthzFixture grpc = meshguard(grpcMesh(grpcProvider(providerSvid())),
        withSpiffeId("spiffe://provider.test/ns/authz/sa/impostor"));
    assertThat(allowStatus(grpc)).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(grpc.counter("meshguard.authz.custom.provider.calls", "provider", "ext", "outcome", "error"))
        .isEqualTo(1);
    assertThat(seen).isEmpty();
  }

  @Test
  void anHttpsProviderPresentingAnotherSpiffeIdIsRefused() throws Exception {
    AuthzFixture f = meshguard(httpMesh(httpsProvider(providerSvid())),
        withSpiffeId("spiffe://provider.test/ns/authz/sa/impostor"));
    assertThat(allowStatus(f)).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(seen).isEmpty();
  }

  @Test
  void aSpiffeIdIsStillOnlyTrustedFromTheConfiguredCa() throws Exception {
    TestCa impostorCa = TestCa.create("provider.test");
    AuthzFixture f = meshguard(grpcMesh(grpcProvider(impostorCa.leaf(PROVIDER_ID).issue())), withSpiffeId(PROVIDER_ID));
    assertThat(allowStatus(f)).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(seen).isEmpty();
  }
}

package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.policy.ExtensionProvider;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLSession;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CUSTOM providers over mTLS in FIPS mode, in the approved-only failsafe fork: the clients meshguard
 * builds from the FIPS {@link Crypto} (the JDK's HttpClient and grpc-java, both on BCJSSE) reach
 * real TLS providers, and what the provider sees negotiated is an approved protocol and suite.
 */
@Tag("fips")
class CustomProviderTlsFipsIT {

  /** NIST SP 800-52 Rev. 2, 3.3.1: TLS 1.3 AES-GCM/CCM suites, and TLS 1.2 ECDHE AES-GCM ones. */
  private static final Set<String> APPROVED = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
      "TLS_AES_128_CCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  private static final String MESHGUARD_ID = "spiffe://cluster.local/ns/mesh/sa/meshguard";

  private static Crypto crypto;

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void fips() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  private static CheckRequest allowed() {
    return EnvoyCheckRequests.http("GET", "/orders/7").workload("shop", "app=orders").header("x-allow", "yes").build();
  }

  @Test
  void thisJvmIsApprovedOnlyAndTheProviderTlsIsBcjsse() throws Exception {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    ClientTls tls = ClientTls.load(crypto, "t", null, null, null);
    assertThat(tls.sslContext().getProvider().getName()).isEqualTo("BCJSSE");
  }

  @Test
  void jwksIsFetchedOverHttpsOnBcjsse() throws Exception {
    TestCa issuerCa = TestCa.create("issuer.test");
    TestCert leaf = issuerCa.leaf("spiffe://issuer.test/jwks").ipAddress("127.0.0.1").issue();
    String jwks = new com.nimbusds.jose.jwk.JWKSet(new com.nimbusds.jose.jwk.ECKey.Builder(
        com.nimbusds.jose.jwk.Curve.P_256, (java.security.interfaces.ECPublicKey) leaf.certificate().getPublicKey())
        .keyID("k1").build()).toString();
    HttpsServer server = JwksCacheTlsTest.httpsJwksServer(crypto, leaf, jwks);
    closing.add(() -> server.stop(0));
    JwksCache cache = new JwksCache(JwtOptions.DEFAULTS, dev.meshguard.core.time.Clock.SYSTEM,
        new AuthzMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
        ClientTls.load(crypto, "authz.jwt", issuerCa.writeBundle(dir.resolve("issuer-ca.pem")), null, null));

    com.nimbusds.jose.jwk.JWKSet keys =
        cache.keys("https://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json", Duration.ofSeconds(20));

    assertThat(keys).isNotNull();
    assertThat(keys.getKeyByKeyId("k1")).isNotNull();
    assertThat(cache.httpClient().sslContext().getProvider().getName()).isEqualTo("BCJSSE");
  }

  @Test
  void anHttpsProviderIsCalledWithMutualTlsOnBcjsse() throws Exception {
    TestCa providerCa = TestCa.create("provider.test");
    TestCa meshguardCa = TestCa.create("cluster.local");
    TestCert serverLeaf = providerCa.leaf("spiffe://provider.test/ext-authz").ipAddress("127.0.0.1").issue();
    CertFiles client = meshguardCa.leaf(MESHGUARD_ID).issue().writeTo(dir, "meshguard");

    // The provider: the JDK's HttpsServer on the FIPS provider's TLS, requiring a client certificate.
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpsServer server = TestHttpsServers.start(TestHttpsServers.context(crypto, serverLeaf, meshguardCa.certificate()), true,
        exchange -> {
          SSLSession session = ((HttpsExchange) exchange).getSSLSession();
          seen.add(session.getProtocol() + " " + session.getCipherSuite());
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    closing.add(() -> server.stop(0));

    Path providerCaFile = providerCa.writeBundle(dir.resolve("provider-ca.pem"));
    ExtensionProvider provider = new ExtensionProvider("ext", false, "127.0.0.1", server.getAddress().getPort(),
        Duration.ofSeconds(10), false, "/check", List.of("x-allow"));
    try (HttpCustomProvider http = new HttpCustomProvider(provider,
        ClientTls.load(crypto, "authz.custom_provider_tls.ext", providerCaFile, client.chain(), client.key()))) {
      ProviderVerdict verdict = http.check(allowed());
      assertThat(verdict.kind()).as(verdict.detail()).isEqualTo(ProviderVerdict.Kind.ALLOW);
    }
    assertThat(seen).singleElement().satisfies(negotiated -> {
      assertThat(negotiated.split(" ")[0]).isIn("TLSv1.3", "TLSv1.2");
      assertThat(negotiated.split(" ")[1]).isIn(APPROVED);
    });
  }

  @Test
  void aGrpcProviderIsCalledWithMutualTlsOnBcjsse() throws Exception {
    TestCa providerCa = TestCa.create("provider.test");
    TestCa meshguardCa = TestCa.create("cluster.local");
    CertFiles serverFiles = providerCa.leaf("spiffe://provider.test/ext-authz").ipAddress("127.0.0.1").issue()
        .writeTo(dir, "provider");
    CertFiles client = meshguardCa.leaf(MESHGUARD_ID).issue().writeTo(dir, "meshguard");
    TlsContext serverTls = TlsContext.forServer(TlsOptions.builder().certFile(serverFiles.chain())
        .keyFile(serverFiles.key()).trustBundleFile(meshguardCa.writeBundle(dir.resolve("meshguard-ca.pem")))
        .clientAuth(TlsOptions.ClientAuth.REQUIRE).reloadInterval(Duration.ZERO).build(), crypto, null);
    closing.add(serverTls);
    List<String> peers = new CopyOnWriteArrayList<>();
    GrpcServer server = GrpcServer.builder().port(0).tls(serverTls)
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
            peers.add(String.valueOf(dev.meshguard.core.tls.PeerAuthorizationInterceptor.PEER_SPIFFE_ID.get()));
            observer.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(0)).build());
            observer.onCompleted();
          }
        }).start();
    closing.add(server);

    ExtensionProvider provider = new ExtensionProvider("ext", true, "127.0.0.1", server.port(),
        Duration.ofSeconds(10), false, "", List.of());
    try (GrpcCustomProvider grpc = new GrpcCustomProvider(provider, ClientTls.load(crypto,
        "authz.custom_provider_tls.ext", providerCa.writeBundle(dir.resolve("provider-ca.pem")), client.chain(),
        client.key()))) {
      ProviderVerdict verdict = grpc.check(allowed());
      assertThat(verdict.kind()).as(verdict.detail()).isEqualTo(ProviderVerdict.Kind.ALLOW);
    }
    assertThat(peers).containsExactly(MESHGUARD_ID);
  }

  // ---- reload and server identity on BCJSSE ----

  private static final String PROVIDER_ID = "spiffe://provider.test/ns/authz/sa/ext-authz";

  /** A gRPC provider on the FIPS TLS context that records the serial of each call's client certificate. */
  private GrpcServer recordingGrpcProvider(TestCert leaf, Path clientCa, List<String> serials) throws Exception {
    CertFiles files = leaf.writeTo(dir, "provider");
    TlsContext serverTls = TlsContext.forServer(TlsOptions.builder().certFile(files.chain()).keyFile(files.key())
        .trustBundleFile(clientCa).clientAuth(TlsOptions.ClientAuth.REQUIRE).reloadInterval(Duration.ZERO).build(),
        crypto, null);
    closing.add(serverTls);
    GrpcServer server = GrpcServer.builder().port(0).tls(serverTls)
        .intercept(new io.grpc.ServerInterceptor() {
          @Override
          public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call,
              io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, R> next) {
            try {
              SSLSession session = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_SSL_SESSION);
              serials.add(((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber().toString(16));
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
              serials.add("none");
            }
            return next.startCall(call, headers);
          }
        })
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
            observer.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(0)).build());
            observer.onCompleted();
          }
        }).start();
    closing.add(server);
    return server;
  }

  @Test
  void aRotatedClientCertificateReachesAGrpcProviderIdentifiedBySpiffeIdOnBcjsse() throws Exception {
    TestCa providerCa = TestCa.create("provider.test");
    TestCa meshguardCa = TestCa.create("cluster.local");
    List<String> serials = new CopyOnWriteArrayList<>();
    // An X.509-SVID only: no DNS name, no IP address for host name verification to find.
    GrpcServer server = recordingGrpcProvider(providerCa.leaf(PROVIDER_ID).issue(),
        meshguardCa.writeBundle(dir.resolve("meshguard-ca.pem")), serials);
    TestCert v1 = meshguardCa.leaf(MESHGUARD_ID).issue();
    CertFiles client = v1.writeTo(dir, "meshguard");
    ProviderTls tls = new ProviderTls(providerCa.writeBundle(dir.resolve("provider-ca.pem")), client.chain(),
        client.key(), null, PROVIDER_ID);
    ExtensionProvider provider = new ExtensionProvider("ext", true, "127.0.0.1", server.port(),
        Duration.ofSeconds(10), false, "", List.of());
    CustomProviderClients clients = new CustomProviderClients(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
        dev.meshguard.core.time.Clock.SYSTEM, CustomProviderClients.loadTls(java.util.Map.of("ext", tls), crypto));
    closing.add(clients);

    ProviderVerdict first = clients.client(provider).check(allowed());
    assertThat(first.kind()).as(first.detail()).isEqualTo(ProviderVerdict.Kind.ALLOW);

    Path chain = client.chain();
    String whole = java.nio.file.Files.readString(chain);
    java.nio.file.Files.writeString(chain, whole.substring(0, whole.length() / 2));
    assertThat(clients.reloadTls()).as("a half-written chain is refused").isEmpty();
    assertThat(clients.tlsProblems()).singleElement().asString().contains(chain.toString());
    assertThat(clients.client(provider).check(allowed()).kind()).isEqualTo(ProviderVerdict.Kind.ALLOW);

    TestCert v2 = meshguardCa.leaf(MESHGUARD_ID).issue();
    v2.writeTo(dir, "meshguard");
    assertThat(clients.reloadTls()).containsExactly("ext");
    ProviderVerdict after = clients.client(provider).check(allowed());
    assertThat(after.kind()).as(after.detail()).isEqualTo(ProviderVerdict.Kind.ALLOW);
    assertThat(serials).containsExactly(v1.serial().toString(16), v1.serial().toString(16), v2.serial().toString(16));
    assertThat(clients.tlsProblems()).isEmpty();
    assertThat(clients.tls("ext").sslContext().getProvider().getName()).isEqualTo("BCJSSE");
  }

  @Test
  void aGrpcProviderWithAnotherSpiffeIdIsRefusedOnBcjsse() throws Exception {
    TestCa providerCa = TestCa.create("provider.test");
    TestCa meshguardCa = TestCa.create("cluster.local");
    List<String> serials = new CopyOnWriteArrayList<>();
    GrpcServer server = recordingGrpcProvider(providerCa.leaf("spiffe://provider.test/ns/authz/sa/impostor").issue(),
        meshguardCa.writeBundle(dir.resolve("meshguard-ca.pem")), serials);
    CertFiles client = meshguardCa.leaf(MESHGUARD_ID).issue().writeTo(dir, "meshguard");
    ProviderTls tls = new ProviderTls(providerCa.writeBundle(dir.resolve("provider-ca.pem")), client.chain(),
        client.key(), null, PROVIDER_ID);
    ExtensionProvider provider = new ExtensionProvider("ext", true, "127.0.0.1", server.port(),
        Duration.ofSeconds(10), false, "", List.of());
    try (GrpcCustomProvider grpc = new GrpcCustomProvider(provider,
        CustomProviderClients.loadTls(java.util.Map.of("ext", tls), crypto).get("ext"))) {
      assertThat(grpc.check(allowed()).kind()).isEqualTo(ProviderVerdict.Kind.ERROR);
    }
    assertThat(serials).isEmpty();
  }

  /** An HTTPS provider on the FIPS provider's TLS (no client certificate asked): counts the calls. */
  private HttpsServer fipsHttpsProvider(TestCert leaf, List<String> calls) throws Exception {
    HttpsServer server = TestHttpsServers.start(TestHttpsServers.context(crypto, leaf, null), false, exchange -> {
      calls.add(exchange.getRequestURI().toString());
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    closing.add(() -> server.stop(0));
    return server;
  }

  @Test
  void anHttpsProviderIsCheckedAgainstItsServerNameOnBcjsse() throws Exception {
    TestCa providerCa = TestCa.create("provider.test");
    List<String> calls = new CopyOnWriteArrayList<>();
    // Certified for the name and for the address connected to: only server_name may decide.
    HttpsServer server = fipsHttpsProvider(providerCa.leaf(PROVIDER_ID).dnsNames("ext-authz.provider.test")
        .issue(), calls);
    Path ca = providerCa.writeBundle(dir.resolve("provider-ca.pem"));
    ExtensionProvider provider = new ExtensionProvider("ext", false, "127.0.0.1", server.getAddress().getPort(),
        Duration.ofSeconds(10), false, "/check", List.of("x-allow"));

    for (String name : List.of("ext-authz.provider.test", "other.provider.test")) {
      ProviderTls tls = new ProviderTls(ca, null, null, name, null);
      try (HttpCustomProvider http = new HttpCustomProvider(provider,
          CustomProviderClients.loadTls(java.util.Map.of("ext", tls), crypto).get("ext"))) {
        ProviderVerdict verdict = http.check(allowed());
        assertThat(verdict.kind()).as(name + ": " + verdict.detail())
            .isEqualTo(name.startsWith("ext-authz") ? ProviderVerdict.Kind.ALLOW : ProviderVerdict.Kind.ERROR);
      }
    }
    assertThat(calls).as("only the call to the right name got through").hasSize(1);
  }
}

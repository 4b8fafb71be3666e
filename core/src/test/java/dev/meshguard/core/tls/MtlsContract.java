package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.KeyType;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.JdkSslContext;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mTLS over real sockets with real grpc clients, the same contract in each crypto mode (one
 * subclass per mode, each in a JVM of that mode). The RPC is the standard health Check.
 */
abstract class MtlsContract {

  static final String TRUST_DOMAIN = "cluster.local";
  static final String SERVER_ID = "spiffe://cluster.local/ns/meshguard/sa/authz";
  static final String ALLOWED = "spiffe://cluster.local/ns/frontend/sa/web";
  static final String ALLOWED_BY_PREFIX = "spiffe://cluster.local/ns/istio-system/sa/ingressgateway";
  static final String NOT_ALLOWED = "spiffe://cluster.local/ns/evil/sa/mallory";
  static final List<String> ALLOW_LIST = List.of(ALLOWED, "spiffe://cluster.local/ns/istio-system/*");

  @TempDir Path dir;

  Crypto crypto;
  TestCa ca;
  TestCa otherCa;
  Path bundle;
  ScheduledExecutorService scheduler;
  SecretVolume serverVolume;
  TlsContext serverTls;
  GrpcServer server;
  /** What the service side saw of each call that got past the allow-list. */
  final List<SeenCall> seen = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private int clientCount;

  record SeenCall(SpiffeId peer, String sessionClass) {}

  abstract CryptoMode mode();

  /** The JSSE provider the contexts must use in this mode. */
  abstract String expectedTlsProvider();

  /** Package of the SSLSession implementation of that provider. */
  abstract String expectedSessionPackage();

  @BeforeEach
  void startServer() throws Exception {
    crypto = Crypto.install(mode());
    assertThat(crypto.tlsProvider().getName()).isEqualTo(expectedTlsProvider());
    ca = TestCa.create(TRUST_DOMAIN);
    otherCa = TestCa.create(TRUST_DOMAIN);
    bundle = ca.writeBundle(dir.resolve("bundle.crt"));
    scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "tls-reload");
      thread.setDaemon(true);
      return thread;
    });
    serverVolume = new SecretVolume(dir.resolve("server-secret"));
    serverVolume.publish(ca.leaf(SERVER_ID).issue(), ca);
    server = startServer(TlsOptions.ClientAuth.REQUIRE, ALLOW_LIST, Duration.ofMillis(50));
  }

  GrpcServer startServer(TlsOptions.ClientAuth clientAuth, List<String> allowList, Duration reload) throws Exception {
    TlsOptions options = TlsOptions.builder()
        .certFile(serverVolume.cert())
        .keyFile(serverVolume.key())
        .trustBundleFile(serverVolume.bundle())
        .clientAuth(clientAuth)
        .allowedPeers(SpiffeIdAllowList.parse("grpc.tls.allowed_spiffe_ids", allowList))
        .reloadInterval(reload)
        .build();
    TlsContext tls = TlsContext.forServer(options, crypto, scheduler);
    if (serverTls == null) {
      serverTls = tls;
    }
    GrpcServer started = GrpcServer.builder().tls(tls).intercept(new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        seen.add(new SeenCall(PeerAuthorizationInterceptor.PEER_SPIFFE_ID.get(), session.getClass().getName()));
        return next.startCall(call, headers);
      }
    }).start();
    started.markServing();
    cleanup.add(started);
    cleanup.add(tls);
    return started;
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable closeable : cleanup.reversed()) {
      closeable.close();
    }
    scheduler.shutdownNow();
  }

  /** A fresh client (its own TLS context, so no session is resumed) presenting {@code cert}, or none. */
  Client client(TestCert cert, GrpcServer target, List<String> serverIds) throws ConfigException {
    Path clientDir = dir.resolve("client-" + (++clientCount));
    TlsOptions.Builder options = TlsOptions.builder()
        .trustBundleFile(bundle)
        .allowedPeers(SpiffeIdAllowList.parse("client.allowed_server_ids", serverIds))
        .reloadInterval(Duration.ZERO);
    if (cert != null) {
      CertFiles files = cert.writeTo(clientDir, "client");
      options.certFile(files.chain()).keyFile(files.key());
    }
    TlsContext tls = TlsContext.forClient(options.build(), crypto, null);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", target.port())
        .sslContext(tls.sslContext())
        .build();
    Client client = new Client(channel, tls);
    cleanup.add(client);
    return client;
  }

  Client client(TestCert cert) throws ConfigException {
    return client(cert, server, List.of());
  }

  /** A grpc channel plus what the client saw of the server's certificate. */
  static final class Client implements AutoCloseable {
    final ManagedChannel channel;
    final TlsContext tls;
    final AtomicReference<X509Certificate> serverLeaf = new AtomicReference<>();
    private final Channel intercepted;

    Client(ManagedChannel channel, TlsContext tls) {
      this.channel = channel;
      this.tls = tls;
      this.intercepted = ClientInterceptors.intercept(channel, new ClientInterceptor() {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
          return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
              ClientCall<Q, R> call = this;
              super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                @Override
                public void onHeaders(Metadata responseHeaders) {
                  SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
                  try {
                    serverLeaf.set((X509Certificate) session.getPeerCertificates()[0]);
                  } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                    throw new AssertionError(e);
                  }
                  super.onHeaders(responseHeaders);
                }
              }, headers);
            }
          };
        }
      });
    }

    ServingStatus check() {
      return HealthGrpc.newBlockingStub(intercepted).withDeadlineAfter(20, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    }

    Status failedCheck() {
      try {
        ServingStatus status = check();
        throw new AssertionError("expected the call to fail, but it returned " + status);
      } catch (StatusRuntimeException e) {
        return e.getStatus();
      }
    }

    @Override
    public void close() {
      try {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      tls.close();
    }
  }

  @Test
  void allowedClientCallsAndTheServiceSeesItsSpiffeId() throws Exception {
    assertThat(client(ca.leaf(ALLOWED).issue()).check()).isEqualTo(ServingStatus.SERVING);
    assertThat(client(ca.leaf(ALLOWED_BY_PREFIX).keyType(KeyType.RSA_2048).issue()).check()).isEqualTo(ServingStatus.SERVING);
    assertThat(seen).extracting(SeenCall::peer)
        .containsExactly(SpiffeId.parse(ALLOWED), SpiffeId.parse(ALLOWED_BY_PREFIX));
  }

  @Test
  void tlsRunsOnTheModesProviderEndToEnd() throws Exception {
    assertThat(((JdkSslContext) serverTls.sslContext()).context().getProvider().getName()).isEqualTo(expectedTlsProvider());
    Client client = client(ca.leaf(ALLOWED).issue());
    assertThat(((JdkSslContext) client.tls.sslContext()).context().getProvider().getName()).isEqualTo(expectedTlsProvider());
    client.check();
    // The session of the accepted connection, as the server's call saw it: made by that provider's engine.
    assertThat(seen).singleElement().extracting(SeenCall::sessionClass).asString().startsWith(expectedSessionPackage());
  }

  @Test
  void anotherSpiffeIdIsPermissionDeniedNamingThePeer() throws Exception {
    Status status = client(ca.leaf(NOT_ALLOWED).issue()).failedCheck();
    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).isEqualTo("peer " + NOT_ALLOWED + " is not allowed");
    assertThat(seen).as("no call reached the service").isEmpty();
  }

  @Test
  void noClientCertificateFailsTheHandshake() throws Exception {
    assertThat(client(null).failedCheck().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(seen).isEmpty();
  }

  @Test
  void certificateFromAnotherCaFailsTheHandshake() throws Exception {
    // Same trust domain, same (allowed) SPIFFE ID, but not signed by a CA in the bundle.
    assertThat(client(otherCa.leaf(ALLOWED).issue()).failedCheck().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(seen).isEmpty();
  }

  @Test
  void expiredClientCertificateFailsTheHandshake() throws Exception {
    assertThat(client(ca.leaf(ALLOWED).expired().issue()).failedCheck().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(seen).isEmpty();
  }

  @Test
  void clientChecksTheServersSpiffeId() throws Exception {
    TestCert cert = ca.leaf(ALLOWED).issue();
    assertThat(client(cert, server, List.of(SERVER_ID)).check()).isEqualTo(ServingStatus.SERVING);
    assertThat(client(cert, server, List.of("spiffe://cluster.local/ns/meshguard/*")).check()).isEqualTo(ServingStatus.SERVING);
    Status refused = client(cert, server, List.of("spiffe://cluster.local/ns/other/sa/authz")).failedCheck();
    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    // The trust manager's reason reaches the caller through either provider's handshake exception.
    assertThat(refused.getCause()).hasRootCauseInstanceOf(java.security.cert.CertificateException.class)
        .hasRootCauseMessage("server SPIFFE ID " + SERVER_ID + " is not allowed; expected "
            + "spiffe://cluster.local/ns/other/sa/authz");
  }

  @Test
  void optionalClientAuthLetsAnonymousCallsThroughOnlyWithoutAnAllowList() throws Exception {
    GrpcServer open = startServer(TlsOptions.ClientAuth.OPTIONAL, List.of(), Duration.ZERO);
    assertThat(client(null, open, List.of()).check()).isEqualTo(ServingStatus.SERVING);
    assertThat(seen).singleElement().extracting(SeenCall::peer).isNull();
    assertThat(client(ca.leaf(NOT_ALLOWED).issue(), open, List.of()).check()).isEqualTo(ServingStatus.SERVING);

    GrpcServer restricted = startServer(TlsOptions.ClientAuth.OPTIONAL, ALLOW_LIST, Duration.ZERO);
    Status status = client(null, restricted, List.of()).failedCheck();
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(status.getDescription()).isEqualTo("no client certificate");
    assertThat(client(ca.leaf(ALLOWED).issue(), restricted, List.of()).check()).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void replacedServerCertificateIsServedToNewConnectionsWithoutRestart() throws Exception {
    TestCert clientCert = ca.leaf(ALLOWED).issue();
    Client before = client(clientCert);
    before.check();
    X509Certificate first = before.serverLeaf.get();
    assertThat(first.getSerialNumber()).isEqualTo(serverTls.certificate().getSerialNumber());

    TestCert rotated = ca.leaf(SERVER_ID).keyType(KeyType.RSA_2048).issue();
    serverVolume.publish(rotated, ca);
    awaitGeneration(2);

    Client after = client(clientCert);
    assertThat(after.check()).isEqualTo(ServingStatus.SERVING);
    assertThat(after.serverLeaf.get().getSerialNumber()).isEqualTo(rotated.serial());
    // The connection made before the rotation keeps working.
    assertThat(before.check()).isEqualTo(ServingStatus.SERVING);
    assertThat(serverTls.reloadFailures()).isZero();
  }

  void awaitGeneration(long generation) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (serverTls.generation() < generation) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no reload to generation " + generation + " within 20 s; failures: "
            + serverTls.reloadFailures());
      }
      Thread.sleep(20);
    }
  }

  @Test
  void callsOnASessionWithoutTlsAreRefusedWhenAPeerIsRequired() {
    PeerAuthorizationInterceptor.Peer peer = PeerAuthorizationInterceptor.peerOf(null);
    assertThat(peer).isInstanceOf(PeerAuthorizationInterceptor.Peer.Absent.class);
    assertThatThrownBy(() -> GrpcServer.builder().tls(client(null).tls))
        .isInstanceOf(IllegalArgumentException.class);
  }
}

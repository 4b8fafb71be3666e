package dev.meshguard.ca.server;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.AuditReader;
import dev.meshguard.audit.Durability;
import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateRequest;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateResponse;
import dev.meshguard.ca.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.meshguard.ca.server.CaServerOptions.AuthenticationOptions;
import dev.meshguard.ca.server.CaServerOptions.ClusterOptions;
import dev.meshguard.ca.server.CaServerOptions.JwksOptions;
import dev.meshguard.ca.server.CaServerOptions.TokenReviewOptions;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A running CA server as the integration tests use it: a fresh CA in a temporary directory,
 * {@link KubernetesApi} for TokenReviews, an audit log, and three token clusters:
 * <ul>
 *   <li>{@value #KUBERNETES} (primary): TokenReview against {@link #kube}, tokens of {@link #tokens};
 *   <li>{@value #OFFLINE}: offline against the JWKS of {@link #offlineTokens} (another issuer);
 *   <li>{@value #FORBIDDEN}: TokenReview with a reviewer that may not create tokenreviews.
 * </ul>
 * {@code istio-system/ztunnel} is the trusted node account. Clients connect as istio-agent does:
 * gRPC over TLS to {@code localhost}, verifying the server against the CA's root with host name
 * verification on.
 */
final class CaFixture implements AutoCloseable {
  static final String TRUST_DOMAIN = "example.org";
  static final String WEB = "spiffe://example.org/ns/default/sa/web";
  static final String KUBERNETES = "Kubernetes";
  static final String OFFLINE = "offline";
  static final String FORBIDDEN = "forbidden";
  static final String OFFLINE_ISSUER = "https://offline.example.org";
  static final String REVIEWER = "reviewer-token";
  static final String FORBIDDEN_REVIEWER = "forbidden-reviewer-token";

  final Path dir;
  final Crypto crypto;
  final ServiceAccountTokens tokens;
  final ServiceAccountTokens offlineTokens;
  final KubernetesApi kube;
  final ScheduledExecutorService scheduler;
  final SimpleMeterRegistry registry;
  final AuditLog audit;
  final CaServer server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  private CaFixture(Path dir, Crypto crypto, ServiceAccountTokens tokens, ServiceAccountTokens offlineTokens,
      KubernetesApi kube, ScheduledExecutorService scheduler, SimpleMeterRegistry registry, AuditLog audit,
      CaServer server) {
    this.dir = dir;
    this.crypto = crypto;
    this.tokens = tokens;
    this.offlineTokens = offlineTokens;
    this.kube = kube;
    this.scheduler = scheduler;
    this.registry = registry;
    this.audit = audit;
    this.server = server;
  }

  static CaFixture start(Path dir, Crypto crypto) throws Exception {
    return start(dir, crypto, options -> options);
  }

  static CaFixture start(Path dir, Crypto crypto, UnaryOperator<CaServerOptions> customize) throws Exception {
    ServiceAccountTokens tokens = ServiceAccountTokens.rsa(ServiceAccountTokens.ISSUER);
    ServiceAccountTokens offline = ServiceAccountTokens.ec(OFFLINE_ISSUER);
    KubernetesApi kube = KubernetesApi.start(tokens).allowReviewer(REVIEWER).forbidReviewer(FORBIDDEN_REVIEWER);
    Path kubeCa = kube.writeCaFile(dir.resolve("kube-ca.crt"));
    Path reviewerToken = Files.writeString(dir.resolve("reviewer-token"), REVIEWER + "\n");
    Path forbiddenToken = Files.writeString(dir.resolve("forbidden-token"), FORBIDDEN_REVIEWER);
    Path jwks = offline.writeJwks(dir.resolve("offline-jwks.json"));
    AuthenticationOptions authentication = new AuthenticationOptions(List.of("istio-ca"), KUBERNETES, Map.of(
        KUBERNETES, new ClusterOptions(new TokenReviewOptions(kube.url(), kubeCa, reviewerToken, Duration.ofSeconds(5)), null),
        OFFLINE, new ClusterOptions(null, new JwksOptions(jwks, OFFLINE_ISSUER)),
        FORBIDDEN, new ClusterOptions(new TokenReviewOptions(kube.url(), kubeCa, forbiddenToken, Duration.ofSeconds(5)),
            null)),
        List.of("istio-system/ztunnel"));
    CaServerOptions options = customize.apply(CaServerOptions.DEFAULTS.withTrustDomain(TRUST_DOMAIN)
        .withDir(dir.resolve("ca")).withPorts(0, 0).withAuthentication(authentication));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    AuditLog audit = AuditLog.open(AuditOptions.builder(dir.resolve("audit")).build(), Clock.SYSTEM);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CaServer server;
    try {
      server = CaServer.start(options, crypto, Clock.SYSTEM, scheduler, registry, audit,
          Durability.DURABLE);
    } catch (Exception e) {
      audit.close();
      kube.close();
      scheduler.shutdownNow();
      throw e;
    }
    return new CaFixture(dir, crypto, tokens, offline, kube, scheduler, registry, audit, server);
  }

  Path rootFile() {
    return dir.resolve("ca").resolve(CaDirectory.ROOT_CERT);
  }

  X509Certificate root() throws Exception {
    return parse(Files.readString(rootFile())).getFirst();
  }

  /** A channel as istio-agent opens one: TLS to localhost, the server checked against the root and the host name. */
  ManagedChannel channel() throws Exception {
    return channel(GrpcSslContexts.forClient().trustManager(rootFile().toFile()));
  }

  /** As {@link #channel()}, presenting a client certificate (renewal with an SVID held). */
  ManagedChannel channel(Path certFile, Path keyFile) throws Exception {
    return channel(GrpcSslContexts.forClient().trustManager(rootFile().toFile()).keyManager(certFile.toFile(),
        keyFile.toFile()));
  }

  private ManagedChannel channel(SslContextBuilder tls) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.port()).sslContext(tls.build()).build();
    channels.add(channel);
    return channel;
  }

  /** Headers as istio-agent sends them: the bearer token and, when not null, the cluster. */
  static Metadata bearer(String token, String cluster) {
    Metadata headers = new Metadata();
    headers.put(CallInfo.AUTHORIZATION, "Bearer " + token);
    if (cluster != null) {
      headers.put(Metadata.Key.of("ClusterID", Metadata.ASCII_STRING_MARSHALLER), cluster);
    }
    return headers;
  }

  static IstioCertificateResponse create(ManagedChannel channel, Metadata headers, String csr, long ttlSeconds) {
    return create(channel, headers, IstioCertificateRequest.newBuilder().setCsr(csr).setValidityDuration(ttlSeconds)
        .build());
  }

  static IstioCertificateResponse create(ManagedChannel channel, Metadata headers, IstioCertificateRequest request) {
    var stub = IstioCertificateServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    if (headers != null) {
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return stub.createCertificate(request);
  }

  /** A request as ztunnel sends one for a workload on its node. */
  static IstioCertificateRequest impersonating(String csr, String identity) {
    return IstioCertificateRequest.newBuilder().setCsr(csr).setMetadata(Struct.newBuilder()
        .putFields(IstioCertificateService.IMPERSONATED_IDENTITY, Value.newBuilder().setStringValue(identity).build()))
        .build();
  }

  static List<X509Certificate> parse(String pem) throws Exception {
    List<X509Certificate> certificates = new ArrayList<>();
    for (var certificate : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      certificates.add((X509Certificate) certificate);
    }
    return certificates;
  }

  /** Every audit event written so far (issuances are durable, so they are all on disk). */
  List<AuditEvent> auditEvents() throws Exception {
    List<AuditEvent> events = new ArrayList<>();
    AuditReader.forEach(AuditReader.segments(List.of(dir.resolve("audit"))), stored -> events.add(stored.event()));
    return events;
  }

  /** A counter of the Istio CA API ({@code api="istio"}). */
  double counter(String name, String tag, String value) {
    var counter = registry.find(name).tag("api", "istio").tag(tag, value).counter();
    return counter == null ? 0 : counter.count();
  }

  @Override
  public void close() {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    server.close();
    audit.close();
    kube.close();
    scheduler.shutdownNow();
  }
}

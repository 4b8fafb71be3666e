package dev.meshguard.ca.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.workload.proto.Workload.JWTBundlesRequest;
import dev.meshguard.ca.workload.proto.Workload.JWTBundlesResponse;
import dev.meshguard.ca.workload.proto.Workload.JWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.ValidateJWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.ValidateJWTSVIDResponse;
import dev.meshguard.ca.workload.proto.Workload.X509BundlesRequest;
import dev.meshguard.ca.workload.proto.Workload.X509BundlesResponse;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDResponse;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.Await;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.svid.x509svid.X509SvidValidator;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Workload API over a real Unix socket, called by the java-spiffe client (its
 * {@code DefaultX509Source}, {@code DefaultJwtSource} and {@code DefaultWorkloadApiClient} on its
 * own grpc-netty-linux transport) and by a plain grpc-java client for exact status codes. The
 * caller is this test process: the kernel reports its uid, gid and pid, and the registration
 * entries name them.
 *
 * <p>The CA's clock is a {@link ManualClock} started at the real time (java-spiffe checks
 * certificate and token validity against the real clock); rotation is driven by advancing it and
 * calling {@link WorkloadApiServer#refresh()}, not by waiting.
 */
class WorkloadApiServerTest {
  static final String TD = "example.org";
  static final String WEB = "spiffe://example.org/ns/default/sa/web";
  static final String DB = "spiffe://example.org/ns/default/sa/db";
  static final String BATCH = "spiffe://example.org/ns/jobs/sa/batch";
  static final Duration SVID_TTL = Duration.ofHours(1);
  static final Duration JWT_TTL = Duration.ofMinutes(5);
  /** Back-dating of two hours keeps leaves issued after the fake clock moved on valid in real time. */
  static final CaOptions CA_OPTIONS = CaOptions.defaults()
      .withTtls(SVID_TTL, Duration.ofDays(1))
      .withBackdate(Duration.ofHours(2))
      .withCaValidity(Duration.ofDays(30));
  static final Duration WAIT = Duration.ofSeconds(15);

  static Crypto crypto;
  static long uid;
  static long gid;
  static long pid;

  @TempDir
  Path dir;

  final ManualClock clock = new ManualClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  RootRotation rotation;
  final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
    // The kernel reports the owner of /proc/self as this process's (effective) uid and gid.
    uid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    gid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:gid")).longValue();
    pid = ProcessHandle.current().pid();
  }

  @BeforeEach
  void rotation() throws ConfigException {
    CertificateAuthority ca = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    rotation = RootRotation.rotating(crypto, clock, ca,
        RootRotation.Options.DEFAULTS.withPeriods(Duration.ofDays(10), Duration.ofDays(1)),
        () -> CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS));
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable closeable : closeables.reversed()) {
      closeable.close();
    }
  }

  <T extends AutoCloseable> T closing(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  WorkloadApiOptions options(RegistrationEntry... entries) {
    // A long interval: the tests refresh explicitly after moving the clock.
    return WorkloadApiOptions.DEFAULTS.withSocket(dir.resolve("agent.sock"))
        .withTtls(SVID_TTL, JWT_TTL)
        .withRefreshInterval(Duration.ofMinutes(1))
        .withEntries(List.of(entries));
  }

  /** Every issuance the server reported, in order. */
  final List<String> issuances = new java.util.concurrent.CopyOnWriteArrayList<>();

  WorkloadApiServer start(WorkloadApiOptions options) throws Exception {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    closeables.add(scheduler::shutdownNow);
    return closing(WorkloadApiServer.start(crypto, clock, rotation, options, scheduler,
        (identity, ttl, result) -> issuances.add(identity + " " + ttl + " " + result.getClass().getSimpleName())));
  }

  static RegistrationEntry entry(String selectors, String spiffeId) {
    return RegistrationEntry.parse(selectors + "=" + spiffeId);
  }

  @Test
  void x509SourceGetsAnSvidJavaSpiffeAcceptsAndTheRotatedOneOnTheSameStream() throws Exception {
    WorkloadApiServer server = start(options(entry("uid:" + uid, WEB)));
    DefaultX509Source source = closing(DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
        .spiffeSocketPath(server.endpointAddress()).initTimeout(WAIT).build()));

    X509Svid svid = source.getX509Svid();
    assertThat(svid.getSpiffeId().toString()).isEqualTo(WEB);
    assertThat(svid.getChain()).hasSize(1);
    assertThat(svid.getPrivateKey().getAlgorithm()).isEqualTo("EC");
    X509SvidValidator.verifyChain(svid.getChain(), source);
    X509Bundle bundle = source.getBundleForTrustDomain(TrustDomain.parse(TD));
    assertThat(bundle.getX509Authorities()).containsExactly(rotation.signer().signingCertificate());
    Duration lifetime = Duration.between(svid.getLeaf().getNotBefore().toInstant(), svid.getLeaf().getNotAfter().toInstant());
    assertThat(lifetime).isEqualTo(SVID_TTL.plus(CA_OPTIONS.backdate()));

    // A second client watching one stream sees the first message, then the rotated SVID on it.
    WorkloadApiClient client = closing(DefaultWorkloadApiClient.newClient(
        DefaultWorkloadApiClient.ClientOptions.builder().spiffeSocketPath(server.endpointAddress()).build()));
    BlockingQueue<X509Context> updates = new LinkedBlockingQueue<>();
    List<Throwable> errors = new ArrayList<>();
    client.watchX509Context(watcher(updates::add, errors::add));
    BigInteger firstSerial = updates.poll(WAIT.toSeconds(), TimeUnit.SECONDS).getDefaultSvid().getLeaf().getSerialNumber();
    assertThat(firstSerial).isEqualTo(svid.getLeaf().getSerialNumber());

    clock.advance(SVID_TTL.dividedBy(2).minusSeconds(1));
    server.refresh();
    clock.advance(Duration.ofSeconds(1));
    server.refresh();

    X509Context rotated = updates.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(rotated).as("the rotated SVID arrives on the open stream").isNotNull();
    assertThat(updates).as("not renewed before half its lifetime: one message per rotation").isEmpty();
    X509Svid renewed = rotated.getDefaultSvid();
    assertThat(renewed.getLeaf().getSerialNumber()).isNotEqualTo(firstSerial);
    assertThat(renewed.getPrivateKey()).as("a new key with every SVID").isNotEqualTo(svid.getPrivateKey());
    X509SvidValidator.verifyChain(renewed.getChain(), rotated.getX509BundleSet());
    assertThat(errors).as("the watch never broke (one stream)").isEmpty();
    assertThat(issuances).as("told of the first SVID and its renewal").containsExactly(
        WEB + " PT1H Issued", WEB + " PT1H Issued");

    Await.until(WAIT, () -> !source.getX509Svid().getLeaf().getSerialNumber().equals(firstSerial),
        () -> "the X509Source to hold the renewed SVID");
    assertThat(source.getX509Svid().getLeaf()).isEqualTo(renewed.getLeaf());
  }

  @Test
  void jwtSourceGetsAJwtSvidThatValidatesWithTheBundleAndThroughTheServer() throws Exception {
    WorkloadApiServer server = start(options(entry("uid:" + uid, WEB)));
    JwtSource source = closing(DefaultJwtSource.newSource(JwtSourceOptions.builder()
        .spiffeSocketPath(server.endpointAddress()).initTimeout(WAIT).build()));

    JwtSvid svid = source.fetchJwtSvid("billing", "audit");
    assertThat(svid.getSpiffeId().toString()).isEqualTo(WEB);
    assertThat(svid.getAudience()).containsExactlyInAnyOrder("billing", "audit");
    assertThat(svid.getExpiry().toInstant()).isEqualTo(clock.now().plus(JWT_TTL));

    // java-spiffe's own validation: signature by a kid of the JWT bundle, aud, exp, typ, alg.
    JwtSvid validated = JwtSvid.parseAndValidate(svid.getToken(), source, Set.of("billing"));
    assertThat(validated.getSpiffeId().toString()).isEqualTo(WEB);
    JwtBundle bundle = source.getBundleForTrustDomain(TrustDomain.parse(TD));
    assertThat(bundle.getJwtAuthorities()).containsOnlyKeys(rotation.current().active().jwtKey().keyId());

    // The server's ValidateJWTSVID, through java-spiffe and directly.
    WorkloadApiClient client = closing(DefaultWorkloadApiClient.newClient(
        DefaultWorkloadApiClient.ClientOptions.builder().spiffeSocketPath(server.endpointAddress()).build()));
    assertThat(client.validateJwtSvid(svid.getToken(), "audit").getSpiffeId().toString()).isEqualTo(WEB);
    try (RawClient raw = new RawClient(server.socket())) {
      ValidateJWTSVIDResponse response = raw.stub().validateJWTSVID(
          ValidateJWTSVIDRequest.newBuilder().setAudience("billing").setSvid(svid.getToken()).build());
      assertThat(response.getSpiffeId()).isEqualTo(WEB);
      assertThat(response.getClaims().getFieldsOrThrow("sub").getStringValue()).isEqualTo(WEB);
      assertThat(response.getClaims().getFieldsOrThrow("exp").getNumberValue())
          .isEqualTo(clock.now().plus(JWT_TTL).getEpochSecond());
      assertThat(response.getClaims().getFieldsOrThrow("aud").getListValue().getValuesList())
          .extracting(v -> v.getStringValue()).containsExactlyInAnyOrder("billing", "audit");
    }
  }

  @Test
  void everyCallWithoutTheSecurityHeaderIsInvalidArgument() throws Exception {
    WorkloadApiServer server = start(options(entry("uid:" + uid, WEB)));
    try (RawClient raw = new RawClient(server.socket())) {
      var stub = raw.bare();
      List<Runnable> calls = List.of(
          () -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next(),
          () -> stub.fetchX509Bundles(X509BundlesRequest.getDefaultInstance()).next(),
          () -> stub.fetchJWTBundles(JWTBundlesRequest.getDefaultInstance()).next(),
          () -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("a").build()),
          () -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setAudience("a").setSvid("x").build()));
      for (Runnable call : calls) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("workload.spiffe.io: true");
        });
      }
      // The value is case-sensitive.
      io.grpc.Metadata headers = new io.grpc.Metadata();
      headers.put(CallerInterceptor.SECURITY_HEADER, "True");
      assertThatThrownBy(() -> stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers))
          .fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("a").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
  }

  @Test
  void aCallerNoEntryMatchesIsPermissionDenied() throws Exception {
    // Registered: another user, another group, another process; never this test process.
    WorkloadApiServer server = start(options(
        entry("uid:" + (uid + 1), WEB), entry("gid:" + (gid + 1), DB), entry("uid:" + uid + ",pid:" + (pid + 1), BATCH)));
    try (RawClient raw = new RawClient(server.socket())) {
      var stub = raw.stub();
      List<Runnable> calls = List.of(
          () -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next(),
          () -> stub.fetchX509Bundles(X509BundlesRequest.getDefaultInstance()).next(),
          () -> stub.fetchJWTBundles(JWTBundlesRequest.getDefaultInstance()).next(),
          () -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("a").build()),
          () -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setAudience("a").setSvid("x").build()));
      for (Runnable call : calls) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription())
              .isEqualTo("no identity issued: no registration entry matches the caller (uid " + uid + ", gid " + gid
                  + ", pid " + pid + ")");
        });
      }
    }
    WorkloadApiClient client = closing(DefaultWorkloadApiClient.newClient(
        DefaultWorkloadApiClient.ClientOptions.builder().spiffeSocketPath(server.endpointAddress()).build()));
    assertThatThrownBy(client::fetchX509Context).hasStackTraceContaining("PERMISSION_DENIED");
  }

  @Test
  void uidGidAndPidSelectorsMatchTheKernelsCredentialsInEntryOrder() throws Exception {
    WorkloadApiServer server = start(options(
        entry("gid:" + gid, DB),
        entry("uid:" + (uid + 1), "spiffe://example.org/someone/else"),
        entry("uid:" + uid + ",gid:" + gid + ",pid:" + pid, BATCH),
        entry("uid:" + uid, WEB),
        entry("uid:" + uid, DB)));
    try (RawClient raw = new RawClient(server.socket())) {
      X509SVIDResponse response = raw.stub().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next();
      assertThat(response.getSvidsList()).extracting(s -> s.getSpiffeId()).containsExactly(DB, BATCH, WEB);
      for (var svid : response.getSvidsList()) {
        // The java-spiffe parser on the raw DER, and its chain verification against the bundle.
        X509Svid parsed = X509Svid.parseRaw(svid.getX509Svid().toByteArray(), svid.getX509SvidKey().toByteArray());
        assertThat(parsed.getSpiffeId().toString()).isEqualTo(svid.getSpiffeId());
        X509Bundle bundle = new X509Bundle(TrustDomain.parse(TD));
        certificates(svid.getBundle()).forEach(bundle::addX509Authority);
        X509SvidValidator.verifyChain(parsed.getChain(), bundle);
      }
      JwtSvidsAssert.assertSubjects(raw.stub().fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("a").build()),
          DB, BATCH, WEB);
      JwtSvidsAssert.assertSubjects(raw.stub().fetchJWTSVID(
          JWTSVIDRequest.newBuilder().addAudience("a").setSpiffeId(WEB).build()), WEB);
      assertThatThrownBy(() -> raw.stub().fetchJWTSVID(
          JWTSVIDRequest.newBuilder().addAudience("a").setSpiffeId("spiffe://example.org/someone/else").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).startsWith("the caller is not entitled to spiffe://example.org/someone/else");
          });
      assertThatThrownBy(() -> raw.stub().fetchJWTSVID(JWTSVIDRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).isEqualTo("audience must be specified");
          });
    }
  }

  @Test
  void aNewRootReachesOpenStreamsWhenPublishedAndTheOldOneWhenDropped() throws Exception {
    WorkloadApiServer server = start(options(entry("uid:" + uid, WEB)));
    X509Certificate first = rotation.signer().signingCertificate();
    try (RawClient raw = new RawClient(server.socket())) {
      Iterator<X509BundlesResponse> bundles = raw.stub().fetchX509Bundles(X509BundlesRequest.getDefaultInstance());
      Iterator<JWTBundlesResponse> jwtBundles = raw.stub().fetchJWTBundles(JWTBundlesRequest.getDefaultInstance());
      Iterator<X509SVIDResponse> svids = raw.stub().fetchX509SVID(X509SVIDRequest.getDefaultInstance());
      assertThat(certificates(bundles.next().getBundlesOrThrow("spiffe://" + TD))).containsExactly(first);
      assertThat(jwtBundles.next().getBundlesOrThrow("spiffe://" + TD).toStringUtf8())
          .contains("\"kid\":\"" + rotation.current().active().jwtKey().keyId() + "\"");
      X509SVIDResponse before = svids.next();

      // Nine days in: the next root is published (lead time one day), and every stream hears of it.
      clock.advance(Duration.ofDays(9));
      server.refresh();
      List<X509Certificate> published = certificates(bundles.next().getBundlesOrThrow("spiffe://" + TD));
      assertThat(published).hasSize(2).startsWith(first);
      String jwks = jwtBundles.next().getBundlesOrThrow("spiffe://" + TD).toStringUtf8();
      assertThat(rotation.current().jwtAuthorities())
          .allSatisfy(key -> assertThat(jwks).contains("\"kid\":\"" + key.keyId() + "\""));
      X509SVIDResponse after = svids.next();
      assertThat(certificates(after.getSvids(0).getBundle())).isEqualTo(published);
      assertThat(after.getSvids(0).getX509Svid()).as("the SVID itself renewed too (days past its half-life)")
          .isNotEqualTo(before.getSvids(0).getX509Svid());

      // A day later the new root signs; a day after that (max TTL) the old root is dropped.
      clock.advance(Duration.ofDays(1));
      server.refresh();
      X509SVIDResponse signedByNew = svids.next();
      X509Certificate leaf = certificates(signedByNew.getSvids(0).getX509Svid()).get(0);
      assertThat(leaf.getIssuerX500Principal()).isEqualTo(published.get(1).getSubjectX500Principal());
      clock.advance(Duration.ofDays(1));
      server.refresh();
      assertThat(certificates(bundles.next().getBundlesOrThrow("spiffe://" + TD))).containsExactly(published.get(1));
    }
  }

  @Test
  void validateJwtSvidRefusesWhatIsNotAValidJwtSvidForTheAudience() throws Exception {
    WorkloadApiServer server = start(options(entry("uid:" + uid, WEB)));
    // A key of a trust domain with the same name that this server does not know.
    CertificateAuthority stranger = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    RootRotation strangerRotation = RootRotation.fixed(crypto, clock, stranger, KeyAlgorithm.DEFAULT);
    String foreign = JwtSvids.issue(strangerRotation.current().active().jwtKey(),
        dev.meshguard.core.spiffe.SpiffeId.parse(WEB), List.of("billing"), clock.now(), JWT_TTL);
    try (RawClient raw = new RawClient(server.socket())) {
      String token = raw.stub().fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("billing").build())
          .getSvids(0).getSvid();
      String[] parts = token.split("\\.");
      String tampered = parts[0] + "." + parts[1] + "." + flipLastChar(parts[2]);
      Map<String, String[]> cases = new java.util.LinkedHashMap<>();
      cases.put("wrong audience", new String[] {token, "audit", "the token's aud [billing] does not contain audit"});
      cases.put("tampered signature", new String[] {tampered, "billing", "the token's signature does not verify"});
      cases.put("unknown key", new String[] {foreign, "billing", "is not a key of trust domain example.org"});
      cases.put("garbage", new String[] {"not.a.jwt", "billing", "the token is not a signed JWT"});
      cases.put("no audience", new String[] {token, "", "audience must be specified"});
      cases.put("no token", new String[] {"", "billing", "svid must be specified"});
      cases.forEach((name, c) -> assertThatThrownBy(() -> raw.stub().validateJWTSVID(
          ValidateJWTSVIDRequest.newBuilder().setSvid(c[0]).setAudience(c[1]).build()))
          .as(name)
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains(c[2]);
          }));

      clock.advance(JWT_TTL);
      assertThatThrownBy(() -> raw.stub().validateJWTSVID(
          ValidateJWTSVIDRequest.newBuilder().setSvid(token).setAudience("billing").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getDescription()).startsWith("the token expired at "));
    }
  }

  @Test
  void theSocketGetsItsConfiguredModeReplacesAStaleSocketAndIsRemovedOnClose() throws Exception {
    WorkloadApiOptions options = new WorkloadApiOptions(dir.resolve("run/agent.sock"), "0660", SVID_TTL, JWT_TTL,
        Duration.ofMinutes(1), List.of(entry("uid:" + uid, WEB)));
    WorkloadApiServer first = WorkloadApiServer.start(crypto, clock, rotation, options);
    Path socket = first.socket();
    assertThat(Files.getPosixFilePermissions(socket)).isEqualTo(PosixFilePermissions.fromString("rw-rw----"));
    assertThat(Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class).isOther()).isTrue();
    first.close();
    assertThat(socket).doesNotExist();

    // A socket left behind by a process that died is replaced.
    java.nio.channels.ServerSocketChannel stale = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
    stale.bind(java.net.UnixDomainSocketAddress.of(socket));
    stale.close();
    assertThat(socket).exists();
    WorkloadApiServer second = closing(WorkloadApiServer.start(crypto, clock, rotation, options));
    try (RawClient raw = new RawClient(second.socket())) {
      assertThat(raw.stub().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next().getSvidsCount()).isEqualTo(1);
    }
  }

  @Test
  void startRefusesWhatCannotWork() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-socket"), "x");
    assertThatThrownBy(() -> start(options(entry("uid:" + uid, WEB)).withSocket(file)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("workload_api.socket: " + file + " exists and is not a socket; refusing to replace it");
    assertThat(file).hasContent("x");
    assertThatThrownBy(() -> start(options(entry("uid:" + uid, WEB), entry("uid:1", "spiffe://other.org/web"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("workload_api.entries[1].spiffe_id: spiffe://other.org/web is not in the CA's trust domain example.org");
    assertThatThrownBy(() -> start(options(entry("uid:" + uid, WEB)).withTtls(Duration.ofDays(2), JWT_TTL)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("must not exceed the CA's max TTL PT24H");
    Path longPath = dir.resolve("x".repeat(120) + ".sock");
    assertThatThrownBy(() -> start(options(entry("uid:" + uid, WEB)).withSocket(longPath)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("bytes a Unix socket path may have");
  }

  static List<X509Certificate> certificates(ByteString der) throws Exception {
    List<X509Certificate> out = new ArrayList<>();
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    for (var certificate : factory.generateCertificates(new ByteArrayInputStream(der.toByteArray()))) {
      out.add((X509Certificate) certificate);
    }
    return out;
  }

  static String flipLastChar(String base64url) {
    char last = base64url.charAt(base64url.length() - 2);
    char replacement = last == 'A' ? 'B' : 'A';
    return base64url.substring(0, base64url.length() - 2) + replacement + base64url.charAt(base64url.length() - 1);
  }

  static <T> Watcher<T> watcher(Consumer<T> updates, Consumer<Throwable> errors) {
    return new Watcher<>() {
      @Override
      public void onUpdate(T update) {
        updates.accept(update);
      }

      @Override
      public void onError(Throwable error) {
        errors.accept(error);
      }
    };
  }

  /** Subjects of a FetchJWTSVID answer, read back from the tokens. */
  static final class JwtSvidsAssert {
    static void assertSubjects(dev.meshguard.ca.workload.proto.Workload.JWTSVIDResponse response, String... ids)
        throws Exception {
      assertThat(response.getSvidsList()).extracting(s -> s.getSpiffeId()).containsExactly(ids);
      for (var svid : response.getSvidsList()) {
        assertThat(com.nimbusds.jwt.SignedJWT.parse(svid.getSvid()).getJWTClaimsSet().getSubject())
            .isEqualTo(svid.getSpiffeId());
      }
    }
  }
}

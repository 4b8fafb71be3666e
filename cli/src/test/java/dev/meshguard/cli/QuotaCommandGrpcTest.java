package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.StoredEvent;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.DecisionTls;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.ratelimit.FailureMode;
import dev.meshguard.ratelimit.QuotaListener;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.ThrottleListener;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code meshguard quota --grpc} against a real server whose gRPC port serves mTLS: a quota admin's
 * client certificate, or the token without one, over real TLS; every change audited with the caller.
 */
class QuotaCommandGrpcTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "grpc-cli-token-90aa";
  private static final String ADMIN = "spiffe://cluster.local/ns/ops/sa/quota-admin";
  private static final String SERVER_ID = "spiffe://cluster.local/ns/meshguard/sa/ratelimit";

  @TempDir
  Path dir;

  private final List<AutoCloseable> running = new ArrayList<>();
  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();
  private RateLimitServer server;
  private TestCa ca;
  private Path bundle;
  private Path tokenFile;

  @BeforeEach
  void start() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    ca = TestCa.create("cluster.local");
    bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    CertFiles serverCert = ca.leaf(SERVER_ID).issue().writeTo(dir, "server");
    tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000)
        .withTls(new DecisionTls(serverCert.chain(), serverCert.key(), bundle,
            List.of("spiffe://cluster.local/ns/istio-system/*")))
        .withQuota(QuotaOptions.DEFAULTS.withApiTokenFile(tokenFile).withAdminSpiffeIds(List.of(ADMIN)));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    running.add(scheduler::shutdownNow);
    Metrics metrics = Metrics.create();
    AuditLog audit = AuditLog.open(AuditOptions.builder(dir.resolve("audit")).checkpointInterval(Duration.ofHours(24))
        .build(), Clock.SYSTEM);
    running.add(audit);
    server = RateLimitServer.start(options, crypto, Clock.SYSTEM, scheduler, metrics.registry(), ThrottleListener.NONE,
        QuotaListener.NONE);
    running.add(server);
    AdminServer admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), metrics, "ratelimit", false, Clock.SYSTEM);
    running.add(admin);
    RateLimits.serveQuotaApi(server, options, admin, audit, Clock.SYSTEM);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : running.reversed()) {
      c.close();
    }
  }

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  private List<String> grpc(String spiffeId, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--grpc", "127.0.0.1:" + server.port(), "--tls-ca", bundle.toString()));
    if (spiffeId != null) {
      CertFiles client = ca.leaf(spiffeId).issue().writeTo(dir, "client-" + Integer.toHexString(spiffeId.hashCode()));
      all.addAll(List.of("--tls-cert", client.chain().toString(), "--tls-key", client.key().toString()));
    }
    return all;
  }

  private List<StoredEvent> changes() throws Exception {
    return QuotaCommandTest.quotaChanges(dir.resolve("audit"));
  }

  @Test
  void anAdminCertificateOrTheTokenOverMtls() throws Exception {
    assertThat(run(grpc(ADMIN, "quota", "set", "acme", "--limit", "monthly:month:10").toArray(String[]::new)))
        .as(err.toString()).isZero();
    assertThat(out.toString()).contains("created the quota of tenant acme");
    for (int i = 0; i < 9; i++) {
      server.engine().decide("envoy", List.of(Descriptor.of("tenant", "acme")), 1);
    }
    List<String> usage = grpc(null, "quota", "usage", "acme", "--token-file", tokenFile.toString());
    assertThat(run(usage.toArray(String[]::new))).as(err.toString()).isZero();
    assertThat(out.toString()).contains("TENANT", "RESETS AT").containsPattern("acme +monthly +9/10 +1 +90\\.0%");

    List<String> json = grpc(null, "quota", "get", "acme", "--token-file", tokenFile.toString());
    assertThat(run(json.toArray(String[]::new))).isZero();
    JsonNode quota = JSON.readTree(out.toString());
    assertThat(quota.path("limits").get(0).path("amount").asLong()).isEqualTo(10);
    assertThat(quota.path("managed_by").asText()).isEqualTo("api");

    assertThat(run(grpc(ADMIN, "quota", "list", "--above", "0.8").toArray(String[]::new))).isZero();
    assertThat(out.toString()).containsPattern("acme +monthly +9/10");
    assertThat(run(grpc(ADMIN, "quota", "reset", "acme").toArray(String[]::new))).isZero();
    assertThat(run(grpc(null, "quota", "delete", "acme", "--token-file", tokenFile.toString())
        .toArray(String[]::new))).isZero();

    assertThat(changes()).extracting(e -> e.event().outcome() + " by " + e.event().subject().principal())
        .containsExactly("create by " + ADMIN, "reset by " + ADMIN, "delete by admin-token");
    assertThat(JSON.readTree(changes().get(0).line()).path("object").path("after").path("limits").get(0)
        .path("amount").asLong()).isEqualTo(10);
  }

  @Test
  void aPinnedServerSpiffeIdAdmitsThatServerAndRefusesAnyOther() throws Exception {
    List<String> right = grpc(ADMIN, "quota", "set", "acme", "--limit", "monthly:month:10");
    right.addAll(List.of("--server-spiffe-id", SERVER_ID));
    assertThat(run(right.toArray(String[]::new))).as(err.toString()).isZero();
    assertThat(out.toString()).contains("created the quota of tenant acme");

    // The server's SVID chains to --tls-ca, but it is not the server this client was told to expect.
    String expected = "spiffe://cluster.local/ns/meshguard/sa/ratelimit-canary";
    List<String> wrong = grpc(ADMIN, "quota", "delete", "acme");
    wrong.addAll(List.of("--server-spiffe-id", expected));
    assertThat(run(wrong.toArray(String[]::new))).as(err.toString()).isEqualTo(1);
    assertThat(err.toString().strip()).isEqualTo("meshguard quota: refused the TLS certificate of the quota service"
        + " at 127.0.0.1:" + server.port() + ": server SPIFFE ID " + SERVER_ID + " is not allowed; expected "
        + expected);
    assertThat(changes()).as("the refused call never reached the server")
        .extracting(e -> e.event().outcome()).containsExactly("create");

    List<String> notAnId = grpc(ADMIN, "quota", "list");
    notAnId.addAll(List.of("--server-spiffe-id", "ratelimit.meshguard"));
    assertThat(run(notAnId.toArray(String[]::new))).isEqualTo(2);
    assertThat(err.toString()).contains("--server-spiffe-id: 'ratelimit.meshguard' is not a SPIFFE ID");
    List<String> trustDomain = grpc(ADMIN, "quota", "list");
    trustDomain.addAll(List.of("--server-spiffe-id", "spiffe://cluster.local"));
    assertThat(run(trustDomain.toArray(String[]::new))).isEqualTo(2);
    assertThat(err.toString()).contains("names a trust domain");
    assertThat(run("quota", "list", "--grpc", "127.0.0.1:" + server.port(), "--server-spiffe-id", SERVER_ID))
        .as("a pinned ID without TLS").isEqualTo(2);
    assertThat(err.toString()).contains("--server-spiffe-id needs --tls-ca");
  }

  @Test
  void refusalsNameTheGrpcCodeAndExitOne() throws Exception {
    String proxy = "spiffe://cluster.local/ns/istio-system/sa/ingress";
    assertThat(run(grpc(proxy, "quota", "set", "acme", "--limit", "monthly:month:10").toArray(String[]::new)))
        .isEqualTo(1);
    assertThat(err.toString()).contains("(PERMISSION_DENIED)").contains(proxy).contains("admin_spiffe_ids");
    assertThat(run(grpc(null, "quota", "list").toArray(String[]::new))).isEqualTo(1);
    assertThat(err.toString()).contains("(UNAUTHENTICATED)");
    assertThat(run(grpc(ADMIN, "quota", "set", "acme", "--limit", "monthly:fortnight:5").toArray(String[]::new)))
        .isEqualTo(1);
    assertThat(err.toString()).contains("(INVALID_ARGUMENT)").contains("[field: limits[0].period]");

    assertThat(run("quota", "list", "--grpc", "127.0.0.1:1", "--token-file", tokenFile.toString()))
        .as("nothing listens").isEqualTo(1);
    assertThat(err.toString()).contains("the quota service at 127.0.0.1:1 is unavailable");
    assertThat(run("quota", "list", "--tls-ca", bundle.toString())).as("TLS flags without --grpc").isEqualTo(2);
    assertThat(run("quota", "list", "--grpc", "nowhere")).isEqualTo(2);
    assertThat(err.toString()).contains("HOST:PORT");
    assertThat(changes()).isEmpty();
  }
}

package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.AuditReader;
import dev.meshguard.audit.StoredEvent;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.FailureMode;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitEngine;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.testkit.Await;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code meshguard quota} against a real running rate limit server: the admin server's quota API
 * wired as {@code meshguard ratelimit} wires it, with a real audit log read back after.
 */
class QuotaCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "tok-3b9e0d7a";

  @TempDir
  Path dir;

  private final List<AutoCloseable> running = new ArrayList<>();
  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();
  private RateLimitServer server;
  private AdminServer admin;
  private AuditLog audit;

  @AfterEach
  void close() throws Exception {
    for (int i = running.size() - 1; i >= 0; i--) {
      running.get(i).close();
    }
  }

  private void start(Path tokenFile) throws Exception {
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/initech.yaml"), quotaYaml("initech", 100));
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000).withQuota(QuotaOptions.DEFAULTS.withDir(dir.resolve("quotas"))
        .withApiTokenFile(tokenFile));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    running.add(scheduler::shutdownNow);
    Metrics metrics = Metrics.create();
    audit = AuditLog.open(AuditOptions.builder(dir.resolve("audit")).checkpointInterval(Duration.ofHours(24)).build(),
        Clock.SYSTEM);
    running.add(audit);
    server = RateLimitServer.start(options, Clock.SYSTEM, scheduler, metrics.registry());
    running.add(server);
    admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), metrics, "ratelimit", false, Clock.SYSTEM);
    running.add(admin);
    RateLimits.serveQuotaApi(server, options, admin, audit, Clock.SYSTEM);
  }

  static String quotaYaml(String tenant, long amount) {
    return """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: %s}
        spec:
          limits:
            - {name: monthly, period: month, amount: %d}
        """.formatted(tenant, amount);
  }

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--admin");
    all.add("http://" + admin.endpoint());
    return cli.execute(all.toArray(String[]::new));
  }

  private void hit(String tenant, int times) {
    RateLimitEngine engine = server.engine();
    for (int i = 0; i < times; i++) {
      engine.decide("envoy", List.of(Descriptor.of("tenant", tenant)), 1);
    }
  }

  /** The {@code object} member of the event's line as written in the segment. */
  private static JsonNode objectOf(StoredEvent event) throws Exception {
    return JSON.readTree(event.line()).path("object");
  }

  private List<StoredEvent> changes() throws Exception {
    return quotaChanges(dir.resolve("audit"));
  }

  /** The quota-change events in the audit log under {@code auditDir}, in order. */
  static List<StoredEvent> quotaChanges(Path auditDir) throws Exception {
    List<StoredEvent> events = new ArrayList<>();
    AuditReader.forEach(AuditReader.segments(List.of(auditDir)), e -> {
      if (e.event().kind().equals("quota-change")) {
        events.add(e);
      }
    });
    return events;
  }

  @Test
  void setUsageListResetImportAndDeleteAreAuditedWithBeforeAndAfter() throws Exception {
    start(null);
    assertThat(run("quota", "set", "acme", "--limit", "monthly:month:10", "--limit", "hourly:3600s:100:soft"))
        .isZero();
    assertThat(out.toString()).isEqualTo("created the quota of tenant acme\n");
    // The hourly window is aligned to the real clock: not starting in an hour's last 30 s keeps the
    // hits and the usage read below in one window (a minute's window was crossed in ~1% of runs).
    Await.until(Duration.ofSeconds(40), () -> java.time.Instant.now().getEpochSecond() % 3600 < 3570,
        () -> "an hour with 30 s left to run");
    hit("acme", 9);

    assertThat(run("quota", "usage", "acme")).isZero();
    String[] lines = out.toString().split("\n");
    assertThat(lines[0]).matches("TENANT +LIMIT +USED +REMAINING +PERCENT +RESETS AT");
    assertThat(lines[1]).matches("acme +monthly +9/10 +1 +90\\.0% +\\d{4}-\\d\\d-01T\\d\\d:00:00Z");
    assertThat(lines[2]).matches("acme +hourly +9/100 +91 +9\\.0% +.*Z");

    assertThat(run("quota", "usage", "acme", "--format", "json")).isZero();
    JsonNode usage = JSON.readTree(out.toString());
    assertThat(usage.path("limits").get(0).path("used").asLong()).isEqualTo(9);
    assertThat(usage.path("limits").get(0).path("remaining").asLong()).isEqualTo(1);

    assertThat(run("quota", "list", "--above", "0.8")).isZero();
    assertThat(out.toString()).contains("acme").doesNotContain("initech");
    assertThat(run("quota", "list")).isZero();
    assertThat(out.toString()).containsPattern("acme +api +2").containsPattern("initech +yaml +1");

    assertThat(run("quota", "get", "acme")).isZero();
    assertThat(JSON.readTree(out.toString()).path("limits").get(1).path("window_seconds").asLong()).isEqualTo(3600);

    assertThat(run("quota", "reset", "acme")).isZero();
    assertThat(run("quota", "usage", "acme", "--format", "json")).isZero();
    assertThat(JSON.readTree(out.toString()).path("limits").get(0).path("used").asLong()).isZero();

    Path file = dir.resolve("acme.yaml");
    Files.writeString(file, quotaYaml("acme", 20));
    assertThat(run("quota", "set", "acme", "-f", file.toString())).isZero();
    assertThat(out.toString()).isEqualTo("replaced the quota of tenant acme\n");

    Path importDir = dir.resolve("import");
    Files.createDirectories(importDir);
    Files.writeString(importDir.resolve("globex.yaml"), quotaYaml("globex", 5));
    Files.writeString(importDir.resolve("hooli.yaml"), quotaYaml("hooli", 6));
    assertThat(run("quota", "import", importDir.toString())).isZero();
    assertThat(out.toString()).contains("created globex", "created hooli", "imported 2 of 2 tenant quotas");

    assertThat(run("quota", "delete", "hooli")).isZero();
    assertThat(run("quota", "get", "hooli")).isEqualTo(1);
    assertThat(err.toString()).contains("(404)").contains("no quota of its own");

    java.net.http.HttpResponse<String> status = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + admin.endpoint() + "/status")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    JsonNode quotaComponent = null;
    for (JsonNode component : JSON.readTree(status.body()).path("components")) {
      if (component.path("component").asText().equals("quota")) {
        quotaComponent = component;
      }
    }
    assertThat(quotaComponent).as(status.body()).isNotNull();
    assertThat(quotaComponent.path("endpoints").path("tenants").asText()).as("acme, globex, initech").isEqualTo("3");
    assertThat(quotaComponent.path("endpoints").path("http").asText()).endsWith("/v1/quotas");
    assertThat(quotaComponent.path("loaded_at").asText()).as("the start's import").isNotEmpty();
    assertThat(quotaComponent.has("last_error")).isFalse();

    List<StoredEvent> changes = changes();
    assertThat(changes).extracting(e -> e.event().outcome() + " " + e.event().object().descriptors())
        .containsExactly("create tenant=acme", "reset tenant=acme", "replace tenant=acme", "create tenant=globex",
            "create tenant=hooli", "delete tenant=hooli");
    assertThat(changes).allSatisfy(e -> {
      assertThat(e.event().component()).isEqualTo("ratelimit");
      assertThat(e.event().subject().principal()).isEqualTo("local");
      assertThat(e.event().subject().sourceIp()).isEqualTo("127.0.0.1");
    });
    // Before and after are structured values in the object, read back from the file as written.
    JsonNode replace = objectOf(changes.get(2));
    assertThat(replace.path("before").path("limits").get(0).path("amount").asLong()).isEqualTo(10);
    assertThat(replace.path("after").path("limits").get(0).path("amount").asLong()).isEqualTo(20);
    assertThat(replace.path("after").path("managed_by").asText()).isEqualTo("api");
    assertThat(changes.get(2).event().reason()).isEqualTo("quota of tenant acme replaced by local");
    JsonNode reset = objectOf(changes.get(1));
    assertThat(reset.path("before").path("limits").get(0).path("used").asLong()).isEqualTo(9);
    assertThat(reset.path("after").path("limits").get(0).path("used").asLong()).isZero();
    assertThat(reset.path("after").path("limits").get(0).path("resets_at").asText()).endsWith("Z");
    JsonNode created = objectOf(changes.get(0));
    assertThat(created.has("before")).as("nothing before a create").isFalse();
    assertThat(created.path("after").path("tenant").asText()).isEqualTo("acme");
    JsonNode deleted = objectOf(changes.get(5));
    assertThat(deleted.has("after")).as("nothing after a delete").isFalse();
    assertThat(deleted.path("before").path("tenant").asText()).isEqualTo("hooli");
    assertThat(deleted.path("descriptors").asText()).isEqualTo("tenant=hooli");
  }

  @Test
  void refusalsExitOneAndLocalMistakesExitTwo() throws Exception {
    start(null);
    assertThat(run("quota", "set", "initech", "--limit", "monthly:month:5")).isEqualTo(1);
    assertThat(err.toString()).contains("(409)").contains("managed by YAML").contains("[field: force]");
    assertThat(run("quota", "set", "initech", "--limit", "monthly:month:5", "--force")).isZero();

    assertThat(run("quota", "set", "acme", "--limit", "monthly:fortnight:5")).isEqualTo(1);
    assertThat(err.toString()).contains("(400)").contains("[field: limits[0].period]");

    assertThat(run("quota", "set", "acme", "--limit", "monthly")).isEqualTo(2);
    assertThat(err.toString()).contains("expected NAME:PERIOD:AMOUNT");

    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, quotaYaml("acme", 5).replace("month,", "fortnight,"));
    assertThat(run("quota", "set", "acme", "-f", broken.toString())).isEqualTo(2);
    assertThat(err.toString()).contains(broken + ":6:").contains("fortnight");

    assertThat(run("quota", "usage", "nobody")).isEqualTo(1);
    assertThat(err.toString()).contains("(404)");
    assertThat(changes()).extracting(e -> e.event().outcome()).containsExactly("replace");

    // A change is acknowledged only once its event is fsynced; a log that cannot take it fails the call.
    audit.close();
    assertThat(run("quota", "set", "acme", "--limit", "monthly:month:5")).isEqualTo(1);
    assertThat(err.toString()).contains("(500)").contains("the audit log refused its record");
  }

  @Test
  void aTokenIsRequiredAndNeverWrittenToTheAuditLog() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, TOKEN + "\n");
    start(tokenFile);
    assertThat(run("quota", "set", "acme", "--limit", "monthly:month:5")).isEqualTo(1);
    assertThat(err.toString()).contains("(401)");
    Path wrong = dir.resolve("wrong");
    Files.writeString(wrong, "not-" + TOKEN);
    assertThat(run("quota", "set", "acme", "--limit", "monthly:month:5", "--token-file", wrong.toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("(401)").doesNotContain(TOKEN);
    assertThat(run("quota", "set", "acme", "--limit", "monthly:month:5", "--token-file", tokenFile.toString()))
        .isZero();
    assertThat(run("quota", "list", "--token-file", dir.resolve("missing").toString())).isEqualTo(2);

    assertThat(changes()).singleElement().satisfies(e -> assertThat(e.event().subject().principal())
        .isEqualTo("admin-token"));
    audit.close();
    try (var files = Files.walk(dir.resolve("audit"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(Files.readString(f)).as(f.toString()).doesNotContain(TOKEN);
      }
    }
  }
}

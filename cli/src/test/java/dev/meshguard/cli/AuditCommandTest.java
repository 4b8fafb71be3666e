package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.Durability;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.time.ManualClock;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AuditCommandTest {
  @TempDir
  Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void writeLog() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-11-28T07:00:00Z"));
    // One checkpoint, at close: the interval is longer than the 40 minutes the events span.
    AuditOptions options = AuditOptions.builder(dir).checkpointInterval(Duration.ofHours(24)).build();
    try (AuditLog log = AuditLog.open(options, clock)) {
      append(log, clock, "spiffe://td/ns/a/sa/web", "allow", "/api/items", "a/allow-get");
      append(log, clock, "spiffe://td/ns/b/sa/bot", "deny", "/admin", "a/deny-admin");
      append(log, clock, "spiffe://td/ns/b/sa/bot", "deny", "/admin/users", "a/deny-admin");
      append(log, clock, "spiffe://td/ns/c/sa/job", "deny", "/api/x", "a/allow-get");
    }
  }

  private static void append(AuditLog log, ManualClock clock, String principal, String outcome, String path,
      String policy) {
    clock.advance(Duration.ofMinutes(10));
    log.append(new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision", outcome,
        new AuditEvent.Subject(principal, null, "10.1.2.3"),
        new AuditEvent.AuditObject("a/app", "app.a", "GET", path, null, null, null),
        new AuditEvent.PolicyRef(policy, "0", "r1"), null, 12), Durability.DURABLE);
  }

  private int run(String... args) {
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @Test
  void verifyReportsOkWithCounts() {
    assertThat(run("audit", "verify", dir.toString())).isZero();
    assertThat(out.toString()).startsWith("OK: 5 events in 1 segments, chain and hashes intact; 1 checkpoints signed");
  }

  @Test
  void verifyLocatesAnEditAndExitsNonZero() throws Exception {
    Path segment = dir.resolve("audit-00000000000000000001.jsonl");
    List<String> lines = Files.readAllLines(segment);
    lines.set(1, lines.get(1).replace("\"outcome\":\"deny\"", "\"outcome\":\"allow\""));
    Files.write(segment, lines);
    assertThat(run("audit", "verify", dir.toString())).isEqualTo(1);
    assertThat(out.toString()).startsWith("FAILED: " + segment + ":2: seq 2: edited: ");
  }

  @Test
  void verifyAgainstAnotherTrustedKeyFails() throws Exception {
    Path other = dir.resolve("elsewhere");
    dev.meshguard.audit.Checkpoints.loadOrCreate(other.resolve("k.pem"));
    assertThat(run("audit", "verify", "--public-key", other.resolve("k.pub.pem").toString(), dir.toString()))
        .isEqualTo(1);
    assertThat(out.toString()).contains("bad signature: signed by key");
  }

  @Test
  void queryFiltersByOutcomeAndPathAsJson() {
    assertThat(run("audit", "query", dir.toString(), "--outcome", "deny", "--path-prefix", "/admin",
        "--format", "json")).isZero();
    List<String> lines = out.toString().lines().toList();
    assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).contains("\"outcome\":\"deny\"")
        .contains("\"path\":\"/admin"));
  }

  @Test
  void queryPrintsATableByDefault() {
    assertThat(run("audit", "query", dir.toString(), "--subject", "spiffe://td/ns/c/sa/job")).isZero();
    List<String> lines = out.toString().lines().toList();
    assertThat(lines.get(0)).startsWith("SEQ  TIME").contains("OUTCOME").contains("POLICY");
    assertThat(lines.get(1)).contains("authz").contains("deny").contains("spiffe://td/ns/c/sa/job")
        .contains("a/allow-get").contains("/api/x");
    assertThat(lines.get(2)).isEqualTo("(1 event)");
  }

  @Test
  void queryByTimeRange() {
    assertThat(run("audit", "query", dir.toString(), "--since", "2026-11-28T07:15:00Z", "--until",
        "2026-11-28T07:35:00Z", "--format", "json")).isZero();
    assertThat(out.toString().lines()).hasSize(2);
  }

  @Test
  void badSinceIsAClearError() {
    assertThat(run("audit", "query", dir.toString(), "--since", "yesterday")).isEqualTo(2);
    assertThat(err.toString()).contains("\"yesterday\" is neither an RFC 3339 time nor a duration");
  }

  @Test
  void statsCountsOutcomesSubjectsAndPolicies() {
    assertThat(run("audit", "stats", dir.toString(), "--component", "authz")).isZero();
    String text = out.toString();
    assertThat(text).startsWith("4 events from 2026-11-28T07:10:00Z to 2026-11-28T07:40:00Z");
    assertThat(text).containsPattern("by outcome:\\n\\s+3  deny\\n\\s+1  allow");
    assertThat(text).containsPattern("top denied subjects:\\n\\s+2  spiffe://td/ns/b/sa/bot\\n\\s+1  spiffe://td/ns/c/sa/job");
    assertThat(text).containsPattern("top deciding policies:\\n\\s+2  a/allow-get\\n\\s+2  a/deny-admin");
  }

  @Test
  void statsAsJson() throws Exception {
    assertThat(run("audit", "stats", dir.toString(), "--format", "json")).isZero();
    var json = AuditCommand.JSON.readTree(out.toString());
    assertThat(json.get("events").asLong()).as("checkpoints are not counted").isEqualTo(4);
    assertThat(json.get("by_outcome").get("deny").asLong()).isEqualTo(3);
    assertThat(json.get("top_denied_subjects").get("spiffe://td/ns/b/sa/bot").asLong()).isEqualTo(2);
  }

  @Test
  void missingPathIsAClearError() {
    assertThat(run("audit", "verify", dir.resolve("nope").toString())).isNotZero();
    assertThat(err.toString()).contains("nope: no such audit directory or segment file");
  }
}

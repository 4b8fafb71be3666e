package dev.meshguard.ca.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.AuditReader;
import dev.meshguard.audit.Durability;
import dev.meshguard.ca.workload.RegistrationEntry;
import dev.meshguard.ca.workload.WorkloadApiOptions;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.DefaultX509Source;
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

/**
 * The Workload API run by the CA server: the same rotation as the Istio CA API (java-spiffe gets
 * the bundle the bundle endpoint serves and an SVID from the signing root), every SVID recorded in
 * the audit log and the CA metrics like an Istio CA API issuance, listed on {@code /status}, and
 * its socket gone once the server is closed.
 */
class CaServerWorkloadApiIT {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  @TempDir
  Path dir;

  Crypto crypto;
  ScheduledExecutorService scheduler;
  AuditLog audit;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void start() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
    scheduler = Executors.newSingleThreadScheduledExecutor();
    audit = AuditLog.open(AuditOptions.builder(dir.resolve("audit")).build(), Clock.SYSTEM);
  }

  @AfterEach
  void stop() {
    audit.close();
    scheduler.shutdownNow();
  }

  CaServer start(WorkloadApiOptions workload) throws Exception {
    return CaServer.start(CaServerOptions.DEFAULTS.withTrustDomain("example.org").withDir(dir.resolve("ca"))
        .withPorts(0, 0), workload, crypto, Clock.SYSTEM, scheduler, registry, audit, Durability.DURABLE);
  }

  @Test
  void servesSvidsOfTheSameRotationAndRecordsThemLikeTheIstioCaApi() throws Exception {
    long uid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    Path socket = dir.resolve("workload.sock");
    WorkloadApiOptions workload = WorkloadApiOptions.DEFAULTS.withSocket(socket)
        .withEntries(List.of(RegistrationEntry.parse("uid:" + uid + "=" + WEB)));
    try (CaServer server = start(workload)) {
      assertThat(server.workloadApiAddress()).contains("unix://" + socket);
      assertThat(server.status().endpoints()).containsEntry("workload_api", "unix://" + socket);

      X509Svid svid;
      try (DefaultX509Source source = DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
          .spiffeSocketPath("unix://" + socket).initTimeout(Duration.ofSeconds(20)).build())) {
        svid = source.getX509Svid();
        assertThat(svid.getSpiffeId().toString()).isEqualTo(WEB);
        assertThat(source.getBundleForTrustDomain(TrustDomain.parse("example.org")).getX509Authorities())
            .containsExactlyInAnyOrderElementsOf(server.rotation().current().x509Authorities());
      }
      assertThat(svid.getLeaf().getIssuerX500Principal())
          .isEqualTo(server.ca().signingCertificate().getSubjectX500Principal());
      assertThat(registry.find("meshguard.ca.issued").tag("api", "workload").tag("key_type", "ecdsa-p256")
          .counter().count()).isEqualTo(1);
      assertThat(registry.find("meshguard.ca.issued").tag("api", "istio").tag("key_type", "ecdsa-p256")
          .counter().count()).isZero();

      AuditEvent event = events().stream().filter(e -> e.kind().equals("issue")).findFirst().orElseThrow();
      assertThat(event.component()).isEqualTo("ca");
      assertThat(event.outcome()).isEqualTo("issued");
      assertThat(event.object().serial()).isEqualTo(svid.getLeaf().getSerialNumber().toString(16));
      assertThat(event.object().spiffeId()).isEqualTo(WEB);
      assertThat(event.subject().sourceIp()).isEqualTo("unix://" + socket);
      assertThat(event.reason()).isEqualTo("ttl 3600s (not after " + svid.getLeaf().getNotAfter().toInstant()
          + "), key ecdsa-p256, Workload API SVID of the registration entries for " + WEB);
    }
    assertThat(socket).as("closed with the server").doesNotExist();
  }

  @Test
  void isOffWithoutASocketAndRefusesEntriesOfAnotherTrustDomain() throws Exception {
    try (CaServer server = start(WorkloadApiOptions.DEFAULTS)) {
      assertThat(server.workloadApiAddress()).isEmpty();
      assertThat(server.status().endpoints()).doesNotContainKey("workload_api");
    }
    WorkloadApiOptions stranger = WorkloadApiOptions.DEFAULTS.withSocket(dir.resolve("w.sock"))
        .withEntries(List.of(RegistrationEntry.parse("uid:1=spiffe://other.org/web")));
    assertThatThrownBy(() -> start(stranger)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(
        e.getMessage()).isEqualTo("config: workload_api.entries[0].spiffe_id: spiffe://other.org/web is not in the"
            + " CA's trust domain example.org"));
  }

  private List<AuditEvent> events() throws Exception {
    List<AuditEvent> events = new ArrayList<>();
    AuditReader.forEach(AuditReader.segments(List.of(dir.resolve("audit"))), stored -> events.add(stored.event()));
    return events;
  }
}

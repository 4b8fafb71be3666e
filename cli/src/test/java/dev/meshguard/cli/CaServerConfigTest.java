package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.ca.server.CaServerOptions;
import dev.meshguard.ca.server.CaServerOptions.TokenReviewOptions;
import dev.meshguard.ca.workload.RegistrationEntry;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.KeyAlgorithm;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code ca:} section as {@code meshguard ca} and {@code meshguard up} read it. */
class CaServerConfigTest {
  @TempDir
  Path dir;

  private CaServerConfig load(String yaml, Map<String, String> flags) throws Exception {
    Path file = Files.writeString(dir.resolve("meshguard.yaml"), yaml);
    ConfigOptions options = new ConfigOptions();
    options.configFile = file;
    return options.load(CaServerConfig.DEFAULTS, Map.of(), flags);
  }

  @Test
  void aFullSectionBinds() throws Exception {
    CaServerOptions ca = load("""
        ca:
          trust_domain: cluster.local
          dir: ca
          key_type: rsa-3072
          host: 0.0.0.0
          default_ttl: 12h
          max_ttl: 720h
          server_dns_names: [meshguard-ca.meshguard.svc, meshguard-ca.meshguard.svc.cluster.local]
          dns_names:
            "spiffe://cluster.local/ns/web/sa/web": [web.example.com]
          authentication:
            primary_cluster: main
            clusters:
              main: {token_review: {}}
              edge:
                jwks: {file: edge-jwks.json, issuer: https://edge.example}
            trusted_node_accounts: [istio-system/ztunnel]
        """, Map.of("ca.port", "15443")).ca();
    assertThat(ca.trustDomain()).isEqualTo("cluster.local");
    assertThat(ca.dir()).isEqualTo(dir.resolve("ca"));
    assertThat(ca.keyType()).isEqualTo(KeyAlgorithm.RSA_3072);
    assertThat(ca.host()).isEqualTo("0.0.0.0");
    assertThat(ca.port()).isEqualTo(15443);
    assertThat(ca.bundlePort()).isEqualTo(8443);
    assertThat(ca.defaultTtl()).isEqualTo(Duration.ofHours(12));
    assertThat(ca.maxTtl()).isEqualTo(Duration.ofDays(30));
    assertThat(ca.serverDnsNames()).containsExactly("meshguard-ca.meshguard.svc", "meshguard-ca.meshguard.svc.cluster.local");
    assertThat(ca.dnsNames()).containsExactly(Map.entry("spiffe://cluster.local/ns/web/sa/web", List.of("web.example.com")));
    assertThat(ca.authentication().audiences()).containsExactly("istio-ca");
    assertThat(ca.authentication().primaryCluster()).isEqualTo("main");
    assertThat(ca.authentication().clusters().get("main").tokenReview()).isEqualTo(TokenReviewOptions.DEFAULTS);
    assertThat(ca.authentication().clusters().get("edge").jwks().file()).isEqualTo(dir.resolve("edge-jwks.json"));
    assertThat(ca.authentication().trustedNodeAccounts()).containsExactly("istio-system/ztunnel");
  }

  @Test
  void theWorkloadApiIsOffByDefaultAndItsEntryFlagsReplaceTheFiles() throws Exception {
    assertThat(load("ca: {trust_domain: cluster.local}\n", Map.of()).workloadApi().enabled()).isFalse();
    CaServerConfig config = load("""
        ca:
          trust_domain: cluster.local
          rotation_period: 4380h
          rotation_lead_time: 72h
          reload_interval: 2s
        workload_api:
          socket: run/agent.sock
          entries:
            - spiffe_id: spiffe://cluster.local/ns/web/sa/web
              selectors: {uid: 1001}
        """, Map.of());
    assertThat(config.ca().rotation().rotationPeriod()).isEqualTo(Duration.ofDays(182).plusHours(12));
    assertThat(config.ca().rotation().leadTime()).isEqualTo(Duration.ofDays(3));
    assertThat(config.ca().reloadInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.workloadApi().socket()).isEqualTo(dir.resolve("run/agent.sock"));
    assertThat(config.workloadApi().entries()).extracting(Object::toString)
        .containsExactly("uid:1001=spiffe://cluster.local/ns/web/sa/web");
    assertThat(config.withWorkloadEntries(List.of()).workloadApi().entries()).hasSize(1);
    assertThat(config.withWorkloadEntries(List.of(RegistrationEntry.parse("uid:7,gid:8=spiffe://cluster.local/db")))
        .workloadApi().entries()).extracting(Object::toString).containsExactly("gid:8,uid:7=spiffe://cluster.local/db");
    assertThat(load("", Map.of("workload_api.socket", "/run/meshguard/api.sock")).workloadApi().socket())
        .isEqualTo(Path.of("/run/meshguard/api.sock"));
    assertThatThrownBy(() -> load("ca:\n  rotation_period: 48h\n  rotation_lead_time: 48h\n", Map.of()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors().getFirst().render()).isEqualTo(
            dir.resolve("meshguard.yaml") + ":2:3: ca: rotation_lead_time PT48H must be shorter than rotation_period PT48H"));
  }

  @Test
  void mistakesAreReportedAtTheirLines() {
    assertThatThrownBy(() -> load("""
        ca:
          key_type: ed25519
          authentication:
            clusters:
              both:
                token_review: {url: http://kubernetes}
                jwks: {file: x.json, issuer: https://x}
        """, Map.of())).isInstanceOfSatisfying(ConfigException.class, e -> {
          List<String> errors = e.errors().stream().map(error -> error.render()).toList();
          assertThat(errors).hasSize(2);
          assertThat(errors.get(0)).startsWith(dir.resolve("meshguard.yaml") + ":2:13: ca.key_type: ");
          assertThat(errors.get(1)).isEqualTo(dir.resolve("meshguard.yaml")
              + ":6:23: ca.authentication.clusters.both.token_review: url must be https://, found \"http://kubernetes\"");
        });
  }

  @Test
  void theServerCommandNeedsATrustDomainAndADirectory() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));
    assertThat(cli.execute("ca", "--dir", dir.resolve("ca").toString(), "--admin-port", "0", "--audit-dir",
        dir.resolve("audit").toString())).isEqualTo(CliErrors.CONFIG);
    assertThat(err.toString()).isEqualTo("meshguard: the configuration has 1 error:\n"
        + "  config: ca.trust_domain: required: the trust domain to issue in (--trust-domain TD or ca.trust_domain)\n");
    assertThat(Files.exists(dir.resolve("ca"))).isFalse();
  }
}

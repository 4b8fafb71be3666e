package dev.meshguard.ca.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.audit.Durability;
import dev.meshguard.ca.server.CaServerOptions.AuthenticationOptions;
import dev.meshguard.ca.server.CaServerOptions.ClusterOptions;
import dev.meshguard.ca.server.CaServerOptions.JwksOptions;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up: a CA created at first start and loaded at the next, and configurations refused with the setting named. */
class CaServerStartIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static Crypto crypto;
  static ScheduledExecutorService scheduler;

  @TempDir
  Path dir;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stop() {
    scheduler.shutdownNow();
  }

  CaServer start(CaServerOptions options) throws Exception {
    return CaServer.start(options, crypto, Clock.SYSTEM, scheduler, new SimpleMeterRegistry(), null, Durability.DURABLE);
  }

  CaServerOptions options() {
    return CaServerOptions.DEFAULTS.withTrustDomain("example.org").withDir(dir.resolve("ca")).withPorts(0, 0);
  }

  @Test
  void createsTheCaAtFirstStartAndLoadsItAtTheNext() throws Exception {
    String root;
    try (CaServer first = start(options())) {
      root = Files.readString(dir.resolve("ca/root-cert.pem"));
      assertThat(first.ca().roots().getFirst().getSubjectAlternativeNames()).containsExactly(List.of(6, "spiffe://example.org"));
    }
    try (CaServer second = start(options())) {
      assertThat(Files.readString(dir.resolve("ca/root-cert.pem"))).isEqualTo(root);
      assertThat(second.bundleJson()).contains(java.util.Base64.getEncoder().encodeToString(
          second.ca().roots().getFirst().getEncoded()));
    }
    assertThatThrownBy(() -> start(options().withTrustDomain("other.org"))).isInstanceOfSatisfying(ConfigException.class,
        e -> assertThat(e.errors().getFirst().message()).isEqualTo("is the CA of trust domain example.org, not of other.org"));
  }

  @Test
  void aCaCreatedHereIsPersistedUnderRootsAndItsBundleHasItsJwtKeyAndAGrowingSequence() throws Exception {
    JsonNode first;
    try (CaServer server = start(options())) {
      assertThat(server.isPluggedIn()).isFalse();
      assertThat(server.rotation().isRotating()).isTrue();
      assertThat(dir.resolve("ca/roots/1/ca-key.pem")).exists();
      assertThat(dir.resolve("ca/roots/1/jwt-key.pem")).exists();
      assertThat(Files.readString(dir.resolve("ca/roots/1/ca-cert.pem")))
          .isEqualTo(Files.readString(dir.resolve("ca/ca-cert.pem")));
      first = JSON.readTree(server.bundleJson());
      assertThat(server.describeRotation()).startsWith("roots rotate every 365d (new root published 7d ahead), next"
          + " step at ");
    }
    try (CaServer server = start(options())) {
      JsonNode second = JSON.readTree(server.bundleJson());
      assertThat(uses(second)).containsExactly("x509-svid", "jwt-svid");
      assertThat(second.get("keys").get(1).get("kid")).as("the JWT key came back from disk")
          .isEqualTo(first.get("keys").get(1).get("kid"));
      assertThat(second.get("spiffe_sequence").asLong()).isGreaterThan(first.get("spiffe_sequence").asLong());
      assertThat(second.get("spiffe_refresh_hint").asLong()).isEqualTo(300);
    }
  }

  @Test
  void rotationPeriodsThatDoNotFitTheRootAreRefused() {
    assertRefused(options().withTtls(Duration.ofHours(24), Duration.ofDays(90), Duration.ofDays(400)),
        "ca.rotation_period", "lead time PT168H + rotation period PT8760H + max TTL PT2160H is longer than the root"
            + " validity PT9600H");
  }

  private static List<String> uses(JsonNode bundle) {
    List<String> uses = new java.util.ArrayList<>();
    bundle.get("keys").forEach(key -> uses.add(key.get("use").asText()));
    return uses;
  }

  @Test
  void refusesWhatItCannotRunWith() throws Exception {
    assertRefused(options().withTrustDomain(null), "ca.trust_domain",
        "required: the trust domain to issue in (--trust-domain TD or ca.trust_domain)");
    assertRefused(options().withTrustDomain("Example.org"), "ca.trust_domain", "\"Example.org\": ");
    assertRefused(options().withDir(null), "ca.dir",
        "required: the CA directory (--dir DIR or ca.dir); a new root is created there when it holds no CA");
    assertRefused(options().withAuthentication(new AuthenticationOptions(List.of("istio-ca"), "Kubernetes",
        Map.of("Kubernetes", ClusterOptions.DEFAULTS), List.of())), "ca.authentication.clusters.Kubernetes",
        "set token_review (check tokens with the cluster's Kubernetes API) or jwks (check them offline against the"
            + " cluster's issuer keys)");
    Path jwks = ServiceAccountTokens.ec("https://issuer").writeJwks(dir.resolve("jwks.json"));
    assertRefused(options().withAuthentication(new AuthenticationOptions(List.of("istio-ca"), "Kubernetes",
        Map.of("edge", new ClusterOptions(null, new JwksOptions(jwks, "https://issuer"))), List.of())),
        "ca.authentication.primary_cluster", "\"Kubernetes\" is not one of the clusters (edge); calls without"
            + " ClusterID metadata are checked by the primary cluster");
    assertRefused(options().withAuthentication(new AuthenticationOptions(List.of("istio-ca"), "Kubernetes", Map.of(),
        List.of("ztunnel"))), "ca.authentication.trusted_node_accounts",
        "\"ztunnel\" is not namespace/serviceaccount (e.g. istio-system/ztunnel)");
    Files.writeString(dir.resolve("not-jwks.json"), "{\"keys\": 3}");
    assertThatThrownBy(() -> start(options().withAuthentication(new AuthenticationOptions(List.of("istio-ca"), "edge",
        Map.of("edge", new ClusterOptions(null, new JwksOptions(dir.resolve("not-jwks.json"), "https://issuer"))),
        List.of())))).isInstanceOfSatisfying(ConfigException.class, e -> {
          ConfigError error = e.errors().getFirst();
          assertThat(error.source()).isEqualTo(dir.resolve("not-jwks.json").toString());
          assertThat(error.message()).startsWith("is not a JWK Set (RFC 7517): ");
        });
    assertThat(Files.exists(dir.resolve("ca"))).as("nothing was created for a refused configuration").isFalse();
  }

  private void assertRefused(CaServerOptions options, String setting, String message) {
    assertThatThrownBy(() -> start(options)).isInstanceOfSatisfying(ConfigException.class, e -> {
      assertThat(e.errors()).hasSize(1);
      assertThat(e.errors().getFirst().path()).isEqualTo(setting);
      assertThat(e.errors().getFirst().message()).startsWith(message);
    });
  }
}

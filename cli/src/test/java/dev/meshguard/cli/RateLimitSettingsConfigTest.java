package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.ratelimit.EngineOptions;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.ResponseHeaders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server-wide settings of envoyproxy/ratelimit as meshguard config keys: their defaults are
 * upstream's ({@code src/settings/settings.go}), the file and {@code MESHGUARD_*} variables set
 * them, and mistakes are refused with their positions.
 */
class RateLimitSettingsConfigTest {
  @TempDir
  Path dir;

  private RateLimitOptions load(String yaml, Map<String, String> env) throws Exception {
    Path config = dir.resolve("meshguard.yaml");
    Files.writeString(config, yaml);
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    return options.load(RateLimitServerConfig.DEFAULTS, env).ratelimit();
  }

  @Test
  void defaultsAreUpstreams() throws Exception {
    RateLimitOptions options = load("{}\n", Map.of());
    assertThat(options.shadowMode()).as("SHADOW_MODE default false").isFalse();
    assertThat(options.stopIncrementWhenOverLimit()).as("STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT default false")
        .isFalse();
    assertThat(options.nearLimitRatio()).as("NEAR_LIMIT_RATIO default 0.8").isEqualTo(0.8);
    assertThat(options.responseHeaders()).isEqualTo(new ResponseHeaders(false, "RateLimit-Limit",
        "RateLimit-Remaining", "RateLimit-Reset"));
  }

  @Test
  void theFileAndTheEnvironmentSetThem() throws Exception {
    RateLimitOptions options = load("""
        ratelimit:
          stop_increment_when_over_limit: true
          near_limit_ratio: 0.9
          response_headers:
            enabled: true
            limit_header: X-RateLimit-Limit
          local_cache_max_entries: 0
          max_metric_series: 500
        """, Map.of("MESHGUARD_RATELIMIT_SHADOW_MODE", "true"));
    assertThat(options.engineOptions()).isEqualTo(new EngineOptions(dev.meshguard.ratelimit.FailureMode.ALLOW, true,
        true, 0.9, 0, 500));
    assertThat(options.responseHeaders()).isEqualTo(new ResponseHeaders(true, "X-RateLimit-Limit",
        "RateLimit-Remaining", "RateLimit-Reset"));
  }

  @Test
  void tenantQuotaSettings() throws Exception {
    assertThat(load("{}\n", Map.of()).quota()).isEqualTo(QuotaOptions.DEFAULTS);
    RateLimitOptions options = load("""
        ratelimit:
          quota:
            dir: quotas
            tenant_key: org
            api_token_file: secrets/quota-token
        """, Map.of("MESHGUARD_RATELIMIT_QUOTA_REFRESH_INTERVAL", "5s"));
    assertThat(options.quota().apiTokenFile()).isEqualTo(dir.resolve("secrets/quota-token"));
    assertThat(options.quota().dir()).isEqualTo(dir.resolve("quotas"));
    assertThat(options.quota().tenantKey()).isEqualTo("org");
    assertThat(options.quota().refreshInterval()).isEqualTo(java.time.Duration.ofSeconds(5));
  }

  @Test
  void tlsOnTheGrpcPortAndQuotaAdminsAsTheAuthzServerConfiguresThem() throws Exception {
    assertThat(load("{}\n", Map.of()).tls()).as("plaintext by default").isNull();
    assertThat(load("{}\n", Map.of()).quota().adminSpiffeIds()).isEmpty();
    RateLimitOptions options = load("""
        ratelimit:
          tls:
            cert_file: certs/ratelimit.pem
            key_file: certs/ratelimit-key.pem
            trust_bundle_file: certs/bundle.pem
            allowed_peers: [spiffe://cluster.local/ns/istio-system/*]
          quota:
            admin_spiffe_ids: [spiffe://cluster.local/ns/ops/sa/quota-admin]
        """, Map.of());
    assertThat(options.tls()).isEqualTo(new dev.meshguard.core.tls.DecisionTls(dir.resolve("certs/ratelimit.pem"),
        dir.resolve("certs/ratelimit-key.pem"), dir.resolve("certs/bundle.pem"),
        java.util.List.of("spiffe://cluster.local/ns/istio-system/*")));
    assertThat(options.quota().adminSpiffeIds()).containsExactly("spiffe://cluster.local/ns/ops/sa/quota-admin");
  }

  @Test
  void theRatelimitCommandsTlsFlagsSetTheSameKeys() throws Exception {
    ConfigOptions options = new ConfigOptions();
    RateLimitOptions loaded = options.load(RateLimitServerConfig.DEFAULTS, Map.of(), Map.of(
        "ratelimit.tls.cert_file", "/certs/rl.pem", "ratelimit.tls.key_file", "/certs/rl-key.pem",
        "ratelimit.tls.trust_bundle_file", "/certs/bundle.pem",
        "ratelimit.tls.allowed_peers", "spiffe://cluster.local/ns/istio-system/*,spiffe://cluster.local/ns/gw/sa/x",
        "ratelimit.quota.admin_spiffe_ids", "spiffe://cluster.local/ns/ops/sa/quota-admin")).ratelimit();
    assertThat(loaded.tls().certFile()).isEqualTo(Path.of("/certs/rl.pem"));
    assertThat(loaded.tls().allowedPeers()).containsExactly("spiffe://cluster.local/ns/istio-system/*",
        "spiffe://cluster.local/ns/gw/sa/x");
    assertThat(loaded.quota().adminSpiffeIds()).containsExactly("spiffe://cluster.local/ns/ops/sa/quota-admin");
    assertThatThrownBy(() -> options.load(RateLimitServerConfig.DEFAULTS, Map.of(), Map.of(
        "ratelimit.tls.cert_file", "/certs/rl.pem")))
        .as("a certificate without its key and bundle").isInstanceOf(ConfigException.class);
  }

  @Test
  void redisTlsCaIsAFileRelativeToTheConfigFileAndUnsetByDefault() throws Exception {
    assertThat(load("{}\n", Map.of()).redis().tlsCa()).as("the JVM's trust store").isNull();
    RateLimitOptions options = load("""
        ratelimit:
          store: rediss://redis.example:6380
          redis:
            tls_ca: certs/redis-ca.pem
        """, Map.of());
    assertThat(options.redis().tlsCa()).isEqualTo(dir.resolve("certs/redis-ca.pem"));
  }

  @Test
  void redisClientCertificateAndKeyAreFilesRelativeToTheConfigFileAndUnsetByDefault() throws Exception {
    RateLimitOptions defaults = load("{}\n", Map.of());
    assertThat(defaults.redis().tlsClientCertificate()).as("no client certificate").isNull();
    assertThat(defaults.redis().tlsPrivateKey()).isNull();
    RateLimitOptions options = load("""
        ratelimit:
          store: rediss://redis.example:6380
          redis:
            tls_ca: certs/redis-ca.pem
            tls_client_certificate: certs/meshguard.pem
            tls_private_key: certs/meshguard-key.pem
        """, Map.of());
    assertThat(options.redis().tlsClientCertificate()).isEqualTo(dir.resolve("certs/meshguard.pem"));
    assertThat(options.redis().tlsPrivateKey()).isEqualTo(dir.resolve("certs/meshguard-key.pem"));
  }

  @Test
  void aRedisClientCertificateWithoutItsKeyOrTheOtherWayRoundIsRefusedAtItsSection() throws Exception {
    assertThatThrownBy(() -> load("""
        ratelimit:
          store: rediss://redis.example:6380
          redis:
            tls_client_certificate: certs/meshguard.pem
        """, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("meshguard.yaml:4:5: ratelimit.redis: tls_client_certificate and tls_private_key are"
            + " given together (tls_client_certificate " + dir.resolve("certs/meshguard.pem")
            + ", tls_private_key null)");
    assertThatThrownBy(() -> load("ratelimit: {store: 'rediss://redis.example:6380'}\n",
        Map.of("MESHGUARD_RATELIMIT_REDIS_TLS_PRIVATE_KEY", "/certs/meshguard-key.pem")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ratelimit.redis: tls_client_certificate and tls_private_key are given together"
            + " (tls_client_certificate null, tls_private_key /certs/meshguard-key.pem)");
  }

  @Test
  void mistakesAreRefusedWithTheirPositions() throws Exception {
    assertThatThrownBy(() -> load("""
        ratelimit:
          near_limit_ratio: 1.5
          response_headers:
            reset_header: "Rate Limit Reset"
          shadow_mode: maybe
        """, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(":2:21: ratelimit.near_limit_ratio: must be between 0 and 1, found 1.5")
        .hasMessageContaining(":4:5: ratelimit.response_headers: reset_header must be an HTTP header name "
            + "(RFC 9110 token), found 'Rate Limit Reset'")
        .hasMessageContaining(":5:16: ratelimit.shadow_mode: ");
  }
}

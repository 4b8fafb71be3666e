package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.authz.ProviderTls;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code authz.custom_provider_tls}: TLS material for CUSTOM providers, by provider name. */
class AuthzProviderTlsConfigTest {
  @TempDir
  Path dir;

  private ConfigOptions options(String yaml) throws Exception {
    for (String file : new String[] {"provider-ca.pem", "mg.pem", "mg-key.pem"}) {
      Files.writeString(dir.resolve(file), "");
    }
    Path config = Files.writeString(dir.resolve("meshguard.yaml"), yaml);
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    return options;
  }

  @Test
  void providerTlsBindsByProviderNameWithPathsBesideTheConfigFile() throws Exception {
    AuthzServerConfig loaded = options("""
        authz:
          custom_provider_tls:
            ext-authz: {ca_certificates: provider-ca.pem, client_certificate: mg.pem, private_key: mg-key.pem}
            ca-only: {ca_certificates: provider-ca.pem}
        """).load(AuthzServerConfig.DEFAULTS, Map.of());
    Map<String, ProviderTls> tls = loaded.authz().customProviderTls();
    assertThat(tls).containsOnlyKeys("ext-authz", "ca-only");
    assertThat(tls.get("ext-authz").caCertificates()).endsWith(Path.of("provider-ca.pem"));
    assertThat(tls.get("ext-authz").clientCertificate()).endsWith(Path.of("mg.pem"));
    assertThat(tls.get("ext-authz").privateKey()).endsWith(Path.of("mg-key.pem"));
    assertThat(tls.get("ca-only").clientCertificate()).isNull();
  }

  @Test
  void theDefaultIsNoProviderTls() throws Exception {
    assertThat(new ConfigOptions().load(AuthzServerConfig.DEFAULTS, Map.of()).authz().customProviderTls()).isEmpty();
  }

  @Test
  void aClientCertificateWithoutItsKeyIsAnErrorAtItsPosition() throws Exception {
    ConfigOptions options = options("""
        authz:
          custom_provider_tls:
            ext-authz: {client_certificate: mg.pem}
        """);
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> options.load(AuthzServerConfig.DEFAULTS, Map.of()));
    assertThat(e.errors()).extracting(ConfigError::render).singleElement().asString()
        .contains("meshguard.yaml:3:16").contains("authz.custom_provider_tls.ext-authz")
        .contains("client_certificate and private_key are given together");
  }

  @Test
  void serverNameAndSpiffeIdBind() throws Exception {
    AuthzServerConfig loaded = options("""
        authz:
          custom_provider_tls:
            by-name: {ca_certificates: provider-ca.pem, server_name: authz.example.com}
            in-mesh: {ca_certificates: provider-ca.pem, spiffe_id: "spiffe://cluster.local/ns/authz/sa/ext"}
        """).load(AuthzServerConfig.DEFAULTS, Map.of());
    Map<String, ProviderTls> tls = loaded.authz().customProviderTls();
    assertThat(tls.get("by-name").serverName()).isEqualTo("authz.example.com");
    assertThat(tls.get("by-name").spiffeId()).isNull();
    assertThat(tls.get("in-mesh").spiffeId()).isEqualTo("spiffe://cluster.local/ns/authz/sa/ext");
  }

  /** (the provider's settings in flow style, the one error expected after the file name: position, path, message). */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
      {ca_certificates: provider-ca.pem, server_name: 10.0.0.7}   | :3:16: authz.custom_provider_tls.ext-authz: server_name "10.0.0.7" is an IP address; SNI carries only DNS host names (RFC 6066 section 3): leave server_name out to check the service's address
      {ca_certificates: provider-ca.pem, server_name: "*.example.com"} | :3:16: authz.custom_provider_tls.ext-authz: server_name "*.example.com" is not a valid DNS host name: Contains non-LDH ASCII characters
      {ca_certificates: provider-ca.pem, server_name: ""}         | :3:16: authz.custom_provider_tls.ext-authz: server_name "" is not a valid DNS host name: Server name value of host_name cannot be empty
      {ca_certificates: provider-ca.pem, spiffe_id: "https://x/y"} | :3:16: authz.custom_provider_tls.ext-authz: spiffe_id: invalid SPIFFE ID "https://x/y": scheme must be "spiffe://" (lowercase)
      {ca_certificates: provider-ca.pem, spiffe_id: "spiffe://cluster.local"} | :3:16: authz.custom_provider_tls.ext-authz: spiffe_id "spiffe://cluster.local" names a trust domain, not a workload; a provider's certificate carries a workload's ID (spiffe://TRUST_DOMAIN/PATH)
      {spiffe_id: "spiffe://cluster.local/ns/authz/sa/ext"}         | :3:16: authz.custom_provider_tls.ext-authz: spiffe_id needs ca_certificates: the trust bundle the provider's X.509-SVID must chain to (the JVM's trust store holds no SPIFFE CA)
      """)
  void badServerNamesAndSpiffeIdsAreErrorsAtTheProvidersPosition(String settings, String expected) throws Exception {
    ConfigOptions options = options("""
        authz:
          custom_provider_tls:
            ext-authz: %s
        """.formatted(settings));
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> options.load(AuthzServerConfig.DEFAULTS, Map.of()));
    assertThat(e).as(settings).isNotNull();
    assertThat(e.errors()).extracting(ConfigError::render).singleElement().asString()
        .isEqualTo(dir.resolve("meshguard.yaml") + expected);
  }
}

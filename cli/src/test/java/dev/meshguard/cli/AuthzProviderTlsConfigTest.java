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
}

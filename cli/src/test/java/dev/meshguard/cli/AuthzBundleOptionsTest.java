package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code authz.bundle*} settings and the {@code --bundle}/{@code --bundle-key} flags. */
class AuthzBundleOptionsTest {
  @TempDir
  Path dir;

  @Test
  void bundleSettingsBindFromTheConfigFile() throws Exception {
    Files.createDirectories(dir.resolve("keys"));
    Files.writeString(dir.resolve("keys/bundle.pub.pem"), "");
    Files.writeString(dir.resolve("ca.pem"), "");
    Path config = dir.resolve("meshguard.yaml");
    Files.writeString(config, """
        authz:
          bundle: https://bundles.example/authz.zip
          bundle_key: keys/bundle.pub.pem
          bundle_poll_interval: 10s
          bundle_ca: ca.pem
        """);
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    AuthzServerConfig loaded = options.load(AuthzServerConfig.DEFAULTS, Map.of());
    assertThat(loaded.authz().bundle()).isEqualTo("https://bundles.example/authz.zip");
    assertThat(loaded.authz().bundleKey()).endsWith(Path.of("keys", "bundle.pub.pem"));
    assertThat(loaded.authz().bundlePollInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(loaded.authz().bundleCa()).endsWith(Path.of("ca.pem"));
    assertThat(loaded.authz().bundleAllowHttp()).isFalse();
  }

  @Test
  void jwtSettingsBindAndWhatIsLeftOutKeepsItsDefault() throws Exception {
    assertThat(new ConfigOptions().load(AuthzServerConfig.DEFAULTS, Map.of()).authz().jwt())
        .isEqualTo(dev.meshguard.authz.JwtOptions.DEFAULTS);
    Path config = dir.resolve("jwt.yaml");
    Files.writeString(config, """
        authz:
          jwt:
            jwks_timeout: 2s
            clock_skew: 0s
        """);
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    dev.meshguard.authz.JwtOptions jwt = options.load(AuthzServerConfig.DEFAULTS, Map.of()).authz().jwt();
    assertThat(jwt.jwksTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(jwt.clockSkew()).isZero();
    assertThat(jwt.jwksCacheTtl()).isEqualTo(dev.meshguard.authz.JwtOptions.DEFAULT_JWKS_CACHE_TTL);
  }

  @Test
  void defaultsHaveNoBundleAndPollEveryThirtySeconds() throws Exception {
    AuthzServerConfig loaded = new ConfigOptions().load(AuthzServerConfig.DEFAULTS, Map.of());
    assertThat(loaded.authz().bundle()).isNull();
    assertThat(loaded.authz().bundlePollInterval()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void bundleAndPoliciesFlagsAreAlternatives() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute("authz", "--bundle", dir.toString(), "--bundle-key", "k.pem", "--policies", "p");
    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("--bundle and --policies are alternatives");
  }
}

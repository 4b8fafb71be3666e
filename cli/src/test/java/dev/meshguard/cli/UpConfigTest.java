package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class UpConfigTest {
  @TempDir
  Path dir;

  @Test
  void aBadConfigFileIsRefusedWithEveryMistake() throws Exception {
    Path config = dir.resolve("meshguard.yaml");
    Files.writeString(config, """
        admin:
          port: 70000
          hots: 127.0.0.1
        audit:
          checkpoint_interval: soon
        """);
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute("up", "--config", config.toString());
    assertThat(exit).isEqualTo(CliErrors.CONFIG);
    assertThat(err.toString())
        .startsWith("meshguard: the configuration has 3 errors:")
        .contains(config + ":2:9: admin.port: must be between 0 and 65535, found 70000")
        .contains(config + ":3:3: admin.hots: unknown key \"hots\"; did you mean \"host\"?")
        .contains(config + ":5:24: audit.checkpoint_interval: ");
  }

  @Test
  void aSinkUrlThatIsNotHttpIsRefusedAtItsLine() throws Exception {
    Path config = dir.resolve("sinks.yaml");
    Files.writeString(config, "audit:\n  sinks:\n    http:\n      url: ftp://collector/audit\n");
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> options.load(UpConfig.DEFAULTS, java.util.Map.of()))
        .hasMessageContaining(config + ":4:7: audit.sinks.http: url must start with http:// or https://, found "
            + "\"ftp://collector/audit\"");
  }

  @Test
  void flagsOverrideTheFile() throws Exception {
    Path config = dir.resolve("meshguard.yaml");
    Files.writeString(config, "admin:\n  port: 9999\n");
    ConfigOptions options = new ConfigOptions();
    options.configFile = config;
    options.adminPort = 9191;
    options.auditDir = dir.resolve("a");
    UpConfig loaded = options.load(UpConfig.DEFAULTS, java.util.Map.of("MESHGUARD_ADMIN_PORT", "1234"));
    assertThat(loaded.admin().port()).isEqualTo(9191);
    assertThat(loaded.admin().host()).isEqualTo("127.0.0.1");
    assertThat(loaded.audit().directory()).isEqualTo(dir.resolve("a"));
    options.adminPort = null;
    assertThat(options.load(UpConfig.DEFAULTS, java.util.Map.of("MESHGUARD_ADMIN_PORT", "1234")).admin().port())
        .as("env beats the file").isEqualTo(1234);
    assertThat(options.load(UpConfig.DEFAULTS, java.util.Map.of()).admin().port()).isEqualTo(9999);
  }

  @Test
  void theCasWorkloadApiIsOffUntilASocketIsConfigured() throws Exception {
    ConfigOptions options = new ConfigOptions();
    assertThat(options.load(UpConfig.DEFAULTS, java.util.Map.of()).workloadApi().enabled()).isFalse();
    UpConfig configured = options.load(UpConfig.DEFAULTS,
        java.util.Map.of("MESHGUARD_WORKLOAD_API_SOCKET", "/run/meshguard/workload.sock"));
    assertThat(configured.workloadApi().socket()).isEqualTo(Path.of("/run/meshguard/workload.sock"));
  }

  @Test
  void upImportsTheQuotaDirectoryOfTheCheckout() {
    assertThat(UpConfig.DEFAULTS.ratelimit().quota().dir()).isEqualTo(java.nio.file.Path.of("policies", "quotas"));
    assertThat(UpConfig.DEFAULTS.authz().defaultNamespace()).as("the example policies' namespace").isEqualTo("demo");
  }
}

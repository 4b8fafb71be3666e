package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.config.SampleConfig.Admin;
import dev.meshguard.core.config.SampleConfig.Audit;
import dev.meshguard.core.config.SampleConfig.FailureMode;
import dev.meshguard.core.config.SampleConfig.Limit;
import dev.meshguard.core.config.SampleConfig.LogLevel;
import dev.meshguard.core.config.SampleConfig.Server;
import dev.meshguard.core.config.SampleConfig.Tls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Valid inputs and the records they bind to. */
class ConfigBindingTest {

  private static final Path BASE = Path.of("/etc/meshguard");
  private static final SampleConfig D = SampleConfig.DEFAULTS;

  private static SampleConfig parse(String yaml) throws ConfigException {
    return Config.parse(yaml, "test.yaml", BASE, D, Map.of(), Map.of());
  }

  static Stream<Arguments> values() {
    return Stream.of(
        row("name: edge-1", SampleConfig::name, "edge-1"),
        row("name: 'null'", SampleConfig::name, "null"),
        row("name: 123", SampleConfig::name, "123"),
        row("name: yes", SampleConfig::name, "yes"),
        row("name: |\n  two\n  lines\n", SampleConfig::name, "two\nlines\n"),
        row("enabled: false", SampleConfig::enabled, false),
        row("enabled: TRUE", SampleConfig::enabled, true),
        row("enabled: 'false'", SampleConfig::enabled, false),
        row("workers: 16", SampleConfig::workers, 16),
        row("workers: -3", SampleConfig::workers, -3),
        row("workers: +7", SampleConfig::workers, 7),
        row("workers: 2147483647", SampleConfig::workers, Integer.MAX_VALUE),
        row("workers: \"8\"", SampleConfig::workers, 8),
        row("max_body_bytes: 9223372036854775807", SampleConfig::maxBodyBytes, Long.MAX_VALUE),
        row("sample_ratio: 0.25", SampleConfig::sampleRatio, 0.25),
        row("sample_ratio: 1", SampleConfig::sampleRatio, 1.0),
        row("sample_ratio: .5", SampleConfig::sampleRatio, 0.5),
        row("sample_ratio: 5e-1", SampleConfig::sampleRatio, 0.5),
        row("timeout: 250ms", SampleConfig::timeout, Duration.ofMillis(250)),
        row("timeout: 1h", SampleConfig::timeout, Duration.ofHours(1)),
        row("timeout: 1.5s", SampleConfig::timeout, Duration.ofMillis(1500)),
        row("data_dir: data", SampleConfig::dataDir, Path.of("/etc/meshguard/data")),
        row("data_dir: ../lib/mg", SampleConfig::dataDir, Path.of("/etc/meshguard/../lib/mg")),
        row("data_dir: /srv/mg", SampleConfig::dataDir, Path.of("/srv/mg")),
        row("failure_mode: fail-open", SampleConfig::failureMode, FailureMode.FAIL_OPEN),
        row("failure_mode: FAIL_OPEN", SampleConfig::failureMode, FailureMode.FAIL_OPEN),
        row("failure_mode: Fail_Closed", SampleConfig::failureMode, FailureMode.FAIL_CLOSED),
        row("log: warn", SampleConfig::logLevel, LogLevel.WARN),
        row("trust_domains: [a.org, b.org]", SampleConfig::trustDomains, List.of("a.org", "b.org")),
        row("trust_domains:\n  - a.org", SampleConfig::trustDomains, List.of("a.org")),
        row("trust_domains: []", SampleConfig::trustDomains, List.of()),
        row("retry_backoffs: [10ms, 0, 1m]", SampleConfig::retryBackoffs,
            List.of(Duration.ofMillis(10), Duration.ZERO, Duration.ofMinutes(1))),
        // A nested record merges key by key; the other keys, two levels down too, keep the defaults.
        row("admin:\n  port: 9091", SampleConfig::admin, new Admin("127.0.0.1", 9091, D.admin().tls())),
        row("admin:\n  tls:\n    enabled: true", SampleConfig::admin,
            new Admin("127.0.0.1", 9090, new Tls(true, Path.of("/etc/meshguard/admin.pem")))),
        row("admin:\n  tls:\n    cert_file: certs/admin.pem", a -> a.admin().tls(),
            new Tls(false, Path.of("/etc/meshguard/certs/admin.pem"))),
        // An empty section keeps its defaults.
        row("admin:", SampleConfig::admin, D.admin()),
        row("admin: {}", SampleConfig::admin, D.admin()),
        row("audit: {max_segment_bytes: 1024}", SampleConfig::audit,
            new Audit(Path.of("/var/log/meshguard"), 1024, Duration.ofSeconds(5))),
        row("servers:\n  - name: a\n    port: 80\n    tls: false\n  - {name: b, port: 443, tls: true, tags: [x]}",
            SampleConfig::servers, List.of(new Server("a", 80, false, List.of()), new Server("b", 443, true, List.of("x")))),
        // Map values start from Limit.DEFAULTS; maps come out sorted by key.
        row("limits:\n  tenant_b: {amount: 5, burst: 10}\n  tenant_a: {window: 1m}", SampleConfig::limits,
            Map.of("tenant_a", new Limit(100, 100, Duration.ofMinutes(1)), "tenant_b", new Limit(5, 10, Duration.ofSeconds(1)))),
        row("limits:\n  tenant_b: {}\n  tenant_a: {}", c -> List.copyOf(c.limits().keySet()), List.of("tenant_a", "tenant_b")),
        row("limits: {\"a.b\": {amount: 1, burst: 1}}", SampleConfig::limits,
            Map.of("a.b", new Limit(1, 1, Duration.ofSeconds(1)))));
  }

  private static Arguments row(String yaml, Function<SampleConfig, Object> get, Object expected) {
    return Arguments.of(yaml, get, expected);
  }

  @ParameterizedTest
  @MethodSource("values")
  void bindsValue(String yaml, Function<SampleConfig, Object> get, Object expected) throws Exception {
    assertThat(get.apply(parse(yaml))).isEqualTo(expected);
  }

  @Test
  void bindsAWholeDocument() throws Exception {
    String yaml = """
        name: edge-1
        enabled: false
        workers: 8
        max_body_bytes: 4096
        sample_ratio: 0.5
        timeout: 30m
        data_dir: data
        failure_mode: fail-open
        log: debug
        trust_domains: [cluster.local, example.org]
        retry_backoffs: [100ms, 1s]
        admin:
          host: 0.0.0.0
          port: 9091
          tls:
            enabled: true
            cert_file: /etc/tls/admin.pem
        audit:
          directory: audit
          max_segment_bytes: 1048576
          flush_interval: 10s
        servers:
          - name: grpc
            port: 8080
            tls: true
            tags: [public]
        limits:
          tenant_a:
            amount: 10
            burst: 20
            window: 1m
        """;
    assertThat(parse(yaml)).isEqualTo(new SampleConfig(
        "edge-1", false, 8, 4096, 0.5, Duration.ofMinutes(30), Path.of("/etc/meshguard/data"),
        FailureMode.FAIL_OPEN, LogLevel.DEBUG, List.of("cluster.local", "example.org"),
        List.of(Duration.ofMillis(100), Duration.ofSeconds(1)),
        new Admin("0.0.0.0", 9091, new Tls(true, Path.of("/etc/tls/admin.pem"))),
        new Audit(Path.of("/etc/meshguard/audit"), 1 << 20, Duration.ofSeconds(10)),
        List.of(new Server("grpc", 8080, true, List.of("public"))),
        Map.of("tenant_a", new Limit(10, 20, Duration.ofMinutes(1)))));
  }

  @Test
  void emptyInputsBindTheDefaults() throws Exception {
    for (String yaml : List.of("", "\n", "# only a comment\n", "---\n", "~\n")) {
      assertThat(parse(yaml)).as("%s", yaml).isSameAs(D);
    }
    assertThat(Config.load(null, D, Map.of(), Map.of())).isSameAs(D);
  }

  @Test
  void listsAndMapsAreImmutable() throws Exception {
    SampleConfig config = parse("trust_domains: [a]\nlimits: {t: {}}");
    assertThat(config.trustDomains()).isUnmodifiable();
    assertThat(config.limits()).isUnmodifiable();
  }

  @Test
  void loadResolvesRelativePathsAgainstTheFilesDirectory(@TempDir Path dir) throws Exception {
    Path etc = Files.createDirectories(dir.resolve("etc"));
    Path file = Files.writeString(etc.resolve("meshguard.yaml"), "data_dir: data\naudit:\n  directory: ../log\n");
    SampleConfig config = Config.load(file, D, Map.of(), Map.of());
    assertThat(config.dataDir()).isEqualTo(etc.toAbsolutePath().resolve("data"));
    assertThat(config.audit().directory()).isEqualTo(etc.toAbsolutePath().resolve("../log"));
  }

  @Test
  void loadNamesTheFileAsGivenInErrors(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("meshguard.yaml"), "workers: many\n");
    assertThat(ConfigTesting.errors(() -> Config.load(file, D, Map.of(), Map.of())))
        .containsExactly(file + ":1:10: workers: expected an integer, found \"many\"");
  }

  @Test
  void loadReportsAMissingFile(@TempDir Path dir) {
    Path file = dir.resolve("absent.yaml");
    assertThat(ConfigTesting.errors(() -> Config.load(file, D, Map.of(), Map.of())))
        .containsExactly(file + ": file not found");
  }

  @Test
  void loadReportsAFileThatIsNotUtf8(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("latin1.yaml"), new byte[] {'n', 'a', 'm', 'e', ':', ' ', (byte) 0xe9});
    assertThat(ConfigTesting.errors(() -> Config.load(file, D, Map.of(), Map.of())))
        .containsExactly(file + ": file is not valid UTF-8");
  }

  @Test
  void overridePathsStayRelative() throws Exception {
    SampleConfig config = Config.parse("data_dir: data", "test.yaml", BASE, D, Map.of("audit.directory", "log"), Map.of());
    assertThat(config.dataDir()).isEqualTo(Path.of("/etc/meshguard/data"));
    assertThat(config.audit().directory()).isEqualTo(Path.of("log"));
  }

  @Test
  void withoutABaseDirectoryPathsStayAsWritten() throws Exception {
    SampleConfig config = Config.parse("data_dir: data", "test.yaml", null, D, Map.of(), Map.of());
    assertThat(config.dataDir()).isEqualTo(Path.of("data"));
  }
}

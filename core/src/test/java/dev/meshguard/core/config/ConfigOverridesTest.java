package dev.meshguard.core.config;

import static dev.meshguard.core.config.ConfigTesting.errors;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.config.SampleConfig.Tls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Flags over environment over file over defaults; env names derived from the schema. */
class ConfigOverridesTest {

  private static final SampleConfig D = SampleConfig.DEFAULTS;

  private static SampleConfig load(String yaml, Map<String, String> flags, Map<String, String> env) throws ConfigException {
    return Config.parse(yaml, "test.yaml", null, D, flags, env);
  }

  static Stream<Arguments> precedence() {
    String file = "admin:\n  port: 9091\n";
    Map<String, String> env = Map.of("MESHGUARD_ADMIN_PORT", "9092");
    Map<String, String> flag = Map.of("admin.port", "9093");
    Map<String, String> none = Map.of();
    return Stream.of(
        Arguments.of("", none, none, 9090),
        Arguments.of(file, none, none, 9091),
        Arguments.of("", none, env, 9092),
        Arguments.of(file, none, env, 9092),
        Arguments.of("", flag, none, 9093),
        Arguments.of(file, flag, none, 9093),
        Arguments.of("", flag, env, 9093),
        Arguments.of(file, flag, env, 9093));
  }

  @ParameterizedTest
  @MethodSource("precedence")
  void flagBeatsEnvBeatsFileBeatsDefault(String yaml, Map<String, String> flags, Map<String, String> env, int port)
      throws Exception {
    SampleConfig config = load(yaml, flags, env);
    assertThat(config.admin().port()).isEqualTo(port);
    assertThat(config.admin().host()).isEqualTo("127.0.0.1");
  }

  @Test
  void anOverrideInsideASectionTheFileLacksKeepsTheSectionsDefaults() throws Exception {
    SampleConfig config = load("name: x", Map.of(), Map.of("MESHGUARD_ADMIN_TLS_ENABLED", "true"));
    assertThat(config.admin()).isEqualTo(new SampleConfig.Admin("127.0.0.1", 9090, new Tls(true, D.admin().tls().certFile())));
    assertThat(config.name()).isEqualTo("x");
  }

  @Test
  void underscoresInsideKeysAreNotAmbiguous() throws Exception {
    SampleConfig config = load("", Map.of(), Map.of(
        "MESHGUARD_AUDIT_MAX_SEGMENT_BYTES", "4096",
        "MESHGUARD_MAX_BODY_BYTES", "512",
        "MESHGUARD_DATA_DIR", "data"));
    assertThat(config.audit().maxSegmentBytes()).isEqualTo(4096);
    assertThat(config.maxBodyBytes()).isEqualTo(512);
    assertThat(config.dataDir()).isEqualTo(Path.of("data"));
  }

  @Test
  void unknownMeshguardVariablesAndOtherVariablesAreIgnored() throws Exception {
    SampleConfig config = load("", Map.of(), Map.of(
        "MESHGUARD_NOT_A_SETTING", "1",
        "MESHGUARD_ADMIN", "section",
        "MESHGUARD_SERVERS", "a,b",
        "MESHGUARD_", "",
        "meshguard_workers", "2",
        "PATH", "/usr/bin",
        "WORKERS", "3"));
    assertThat(config).isSameAs(D);
  }

  @Test
  void listsAreCommaSeparated() throws Exception {
    assertThat(load("", Map.of(), Map.of("MESHGUARD_TRUST_DOMAINS", "a.org, b.org ,c.org")).trustDomains())
        .containsExactly("a.org", "b.org", "c.org");
    assertThat(load("trust_domains: [x]", Map.of("trust_domains", ""), Map.of()).trustDomains()).isEmpty();
    assertThat(load("", Map.of("retry_backoffs", "10ms,1s"), Map.of()).retryBackoffs())
        .containsExactly(Duration.ofMillis(10), Duration.ofSeconds(1));
  }

  @Test
  void aBadEnvironmentValueNamesTheVariable() {
    assertThat(errors(() -> load("", Map.of(), Map.of("MESHGUARD_ADMIN_PORT", "abc", "MESHGUARD_TIMEOUT", "2h"))))
        .containsExactly(
            "env MESHGUARD_ADMIN_PORT: admin.port: expected an integer, found \"abc\"",
            "env MESHGUARD_TIMEOUT: timeout: must be between 1ms and 1h, found 2h");
  }

  @Test
  void aBadFlagValueNamesTheFlag() {
    assertThat(errors(() -> load("", Map.of("retry_backoffs", "1s,soon", "failure_mode", "open"), Map.of())))
        .containsExactly(
            "flag --failure_mode: failure_mode: expected one of [fail_open, fail_closed], found \"open\"",
            "flag --retry_backoffs: retry_backoffs[1]: expected a duration such as \"250ms\", \"10s\" or \"1h30m\", "
                + "found \"soon\" (expected a number at position 1)");
  }

  @Test
  void fileErrorsComeFirstThenOverridesBySource() {
    assertThat(errors(() -> load("workers: x\nlog: loud\n", Map.of("workers", "y"), Map.of("MESHGUARD_ENABLED", "on"))))
        .containsExactly(
            "test.yaml:2:6: log: expected one of [debug, info, warn, error], found \"loud\"",
            "env MESHGUARD_ENABLED: enabled: expected a boolean (true or false), found \"on\"",
            "flag --workers: workers: expected an integer, found \"y\"");
  }

  static Stream<Arguments> badFlags() {
    String settable = "cannot be set by a flag or environment variable; only strings, numbers, booleans, durations, "
        + "paths, enums and lists of those can, and only outside lists and maps";
    return Stream.of(
        Arguments.of("admin.prot", "flag --admin.prot: admin.prot: unknown key \"prot\"; did you mean \"port\"? "
            + "allowed keys: host, port, tls"),
        Arguments.of("admin-port", "flag --admin-port: admin-port: unknown key \"admin-port\"; "
            + "allowed keys: admin, audit, data_dir, enabled, failure_mode, limits, log, max_body_bytes, name, "
            + "retry_backoffs, sample_ratio, servers, timeout, trust_domains, workers"),
        Arguments.of("admin", "flag --admin: admin: is a section, not a single setting; allowed keys: host, port, tls"),
        Arguments.of("admin.port.x", "flag --admin.port.x: admin.port.x: admin.port is a single setting; it has no key \"x\""),
        Arguments.of("servers", "flag --servers: servers: " + settable),
        Arguments.of("limits.tenant_a.amount", "flag --limits.tenant_a.amount: limits.tenant_a.amount: " + settable));
  }

  @ParameterizedTest
  @MethodSource("badFlags")
  void anUnknownFlagIsAnError(String flag, String expected) {
    assertThat(errors(() -> load("", Map.of(flag, "1"), Map.of()))).containsExactly(expected);
  }

  /** A record's constructor error, for a section only overrides set, is reported at the first override. */
  @Test
  void aConstructorErrorFromOverridesNamesTheOverride() {
    record Window(Duration min, Duration max) {
      Window {
        if (min.compareTo(max) > 0) {
          throw new IllegalArgumentException("min " + min + " is above max " + max);
        }
      }
    }
    record Windows(Window window) {}
    Windows defaults = new Windows(new Window(Duration.ZERO, Duration.ofSeconds(5)));
    assertThat(errors(() -> Config.parse("", "w.yaml", null, defaults, Map.of(), Map.of("MESHGUARD_WINDOW_MIN", "10s"))))
        .containsExactly("env MESHGUARD_WINDOW_MIN: window: min PT10S is above max PT5S");
  }

  @ParameterizedTest
  @CsvSource({
      "admin.host, MESHGUARD_ADMIN_HOST",
      "admin.port, MESHGUARD_ADMIN_PORT",
      "admin.tls.cert_file, MESHGUARD_ADMIN_TLS_CERT_FILE",
      "admin.tls.enabled, MESHGUARD_ADMIN_TLS_ENABLED",
      "audit.directory, MESHGUARD_AUDIT_DIRECTORY",
      "audit.flush_interval, MESHGUARD_AUDIT_FLUSH_INTERVAL",
      "audit.max_segment_bytes, MESHGUARD_AUDIT_MAX_SEGMENT_BYTES",
      "data_dir, MESHGUARD_DATA_DIR",
      "enabled, MESHGUARD_ENABLED",
      "failure_mode, MESHGUARD_FAILURE_MODE",
      "log, MESHGUARD_LOG",
      "max_body_bytes, MESHGUARD_MAX_BODY_BYTES",
      "name, MESHGUARD_NAME",
      "retry_backoffs, MESHGUARD_RETRY_BACKOFFS",
      "sample_ratio, MESHGUARD_SAMPLE_RATIO",
      "timeout, MESHGUARD_TIMEOUT",
      "trust_domains, MESHGUARD_TRUST_DOMAINS",
      "workers, MESHGUARD_WORKERS",
  })
  void envNamesComeFromTheSchema(String path, String envName) {
    assertThat(Schema.of(SampleConfig.class).leavesByEnvName.get(envName).path()).isEqualTo(path);
  }

  @Test
  void onlyScalarsAndListsOfScalarsOutsideListsAndMapsAreLeaves() {
    assertThat(Schema.of(SampleConfig.class).leavesByPath.keySet()).hasSize(18)
        .doesNotContain("admin", "admin.tls", "audit", "servers", "limits");
  }

  @Test
  void aKeyNamedByAnnotationNamesItsVariable() throws Exception {
    assertThat(load("", Map.of(), Map.of("MESHGUARD_LOG", "error")).logLevel()).isEqualTo(SampleConfig.LogLevel.ERROR);
    assertThat(Schema.of(SampleConfig.class).leavesByEnvName).doesNotContainKey("MESHGUARD_LOG_LEVEL");
  }
}

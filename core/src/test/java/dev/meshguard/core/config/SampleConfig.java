package dev.meshguard.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The schema the config tests bind: a component of every supported kind, nested two deep. */
record SampleConfig(
    @NotBlank String name,
    boolean enabled,
    int workers,
    long maxBodyBytes,
    @Range(min = "0", max = "1") double sampleRatio,
    @Range(min = "1ms", max = "1h") Duration timeout,
    Path dataDir,
    FailureMode failureMode,
    @ConfigKey("log") LogLevel logLevel,
    List<String> trustDomains,
    List<Duration> retryBackoffs,
    Admin admin,
    Audit audit,
    List<Server> servers,
    Map<String, Limit> limits) {

  static final SampleConfig DEFAULTS = new SampleConfig(
      "meshguard", true, 4, 1L << 20, 0.1, Duration.ofSeconds(1), Path.of("/var/lib/meshguard"),
      FailureMode.FAIL_CLOSED, LogLevel.INFO, List.of("cluster.local"), List.of(),
      new Admin("127.0.0.1", 9090, new Tls(false, Path.of("/etc/meshguard/admin.pem"))),
      new Audit(Path.of("/var/log/meshguard"), 64L << 20, Duration.ofSeconds(5)),
      List.of(), Map.of());

  enum FailureMode { FAIL_OPEN, FAIL_CLOSED }

  enum LogLevel { DEBUG, INFO, WARN, ERROR }

  record Admin(String host, @Range(min = "1", max = "65535") int port, Tls tls) {}

  record Tls(boolean enabled, Path certFile) {}

  record Audit(Path directory, @Range(min = "1") long maxSegmentBytes, @Range(min = "1s") Duration flushInterval) {}

  /** No DEFAULTS: every key but the list is required. */
  record Server(@NotBlank String name, @Range(min = "1", max = "65535") int port, boolean tls, List<String> tags) {}

  /** With DEFAULTS: a map value may leave keys out; the constructor checks across fields. */
  record Limit(long amount, long burst, Duration window) {
    static final Limit DEFAULTS = new Limit(100, 100, Duration.ofSeconds(1));

    Limit {
      if (burst < amount) {
        throw new IllegalArgumentException("burst " + burst + " must not be below amount " + amount);
      }
    }
  }
}

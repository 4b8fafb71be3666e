package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HttpSinkOptionsTest {
  private static final Path DIR = Path.of("/var/lib/meshguard/audit");
  private static final HttpSinkOptions DEFAULTS = HttpSinkOptions.to(URI.create("https://collector.example:8443/v1/audit"), DIR);

  @Test
  void defaultsAreTheNamedConstants() {
    assertThat(DEFAULTS.batchSize()).isEqualTo(HttpSinkOptions.DEFAULT_BATCH_SIZE);
    assertThat(DEFAULTS.maxBatchDelay()).isEqualTo(HttpSinkOptions.DEFAULT_MAX_BATCH_DELAY);
    assertThat(DEFAULTS.pollInterval()).isEqualTo(HttpSinkOptions.DEFAULT_POLL_INTERVAL);
    assertThat(DEFAULTS.connectTimeout()).isEqualTo(HttpSinkOptions.DEFAULT_CONNECT_TIMEOUT);
    assertThat(DEFAULTS.requestTimeout()).isEqualTo(HttpSinkOptions.DEFAULT_REQUEST_TIMEOUT);
    assertThat(DEFAULTS.closeTimeout()).isEqualTo(HttpSinkOptions.DEFAULT_CLOSE_TIMEOUT);
    assertThat(DEFAULTS.backoff()).isEqualTo(Backoff.DEFAULT);
    assertThat(DEFAULTS.cursorFile()).isEqualTo(DIR.resolve("http-sink.cursor"));
    assertThat(DEFAULTS.headers()).isEmpty();
  }

  @Test
  void toStringAndLogsNeverShowHeaderValuesOrUrlCredentials() {
    HttpSinkOptions options = HttpSinkOptions.to(URI.create("https://user:pw@collector.example/v1?token=s3cret#x"), DIR)
        .withHeader("Authorization", "Bearer s3cret-token")
        .withHeader("X-Tenant", "acme");

    assertThat(options.collectorForLogs()).isEqualTo("https://collector.example/v1");
    assertThat(options.toString())
        .contains("headers={Authorization=<redacted>, X-Tenant=<redacted>}")
        .contains("collector=https://collector.example/v1,")
        .doesNotContain("s3cret").doesNotContain("acme").doesNotContain("pw");
  }

  @Test
  void headersAreSortedAndReplacedIgnoringCase() {
    HttpSinkOptions options = DEFAULTS.withHeader("x-b", "1").withHeader("Authorization", "old")
        .withHeader("authorization", "new");
    assertThat(options.headers()).containsExactly(java.util.Map.entry("authorization", "new"),
        java.util.Map.entry("x-b", "1"));
    assertThatThrownBy(() -> options.headers().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void withersChangeOneField() {
    HttpSinkOptions changed = DEFAULTS.withBatchSize(7).withMaxBatchDelay(Duration.ZERO)
        .withPollInterval(Duration.ofMillis(5)).withConnectTimeout(Duration.ofSeconds(1))
        .withRequestTimeout(Duration.ofSeconds(2)).withCloseTimeout(Duration.ZERO)
        .withBackoff(new Backoff(Duration.ofMillis(1), Duration.ofMillis(2), 2, 0)).withCursorFileName("other.cursor");
    assertThat(changed).isEqualTo(new HttpSinkOptions(DEFAULTS.collector(), DIR, 7, Duration.ZERO, Duration.ofMillis(5),
        Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ZERO,
        new Backoff(Duration.ofMillis(1), Duration.ofMillis(2), 2, 0), "other.cursor", new java.util.TreeMap<>()));
  }

  static Stream<Arguments> mistakes() {
    return Stream.of(
        mistake(o -> HttpSinkOptions.to(URI.create("ftp://collector/"), DIR),
            "collector must be an http or https URL with a host, found ftp://collector/"),
        mistake(o -> HttpSinkOptions.to(URI.create("/relative"), DIR),
            "collector must be an http or https URL with a host, found /relative"),
        mistake(o -> o.withBatchSize(0), "batchSize must be between 1 and 100000, found 0"),
        mistake(o -> o.withBatchSize(100_001), "batchSize must be between 1 and 100000, found 100001"),
        mistake(o -> o.withMaxBatchDelay(Duration.ofMillis(-1)), "maxBatchDelay must be zero or more, found PT-0.001S"),
        mistake(o -> o.withPollInterval(Duration.ZERO), "pollInterval must be positive, found PT0S"),
        mistake(o -> o.withConnectTimeout(Duration.ZERO), "connectTimeout must be positive, found PT0S"),
        mistake(o -> o.withRequestTimeout(Duration.ZERO), "requestTimeout must be positive, found PT0S"),
        mistake(o -> o.withCloseTimeout(Duration.ofSeconds(-1)), "closeTimeout must be zero or more, found PT-1S"),
        mistake(o -> o.withCursorFileName("../x"), "cursorFileName must be a plain file name that does not start"
            + " with '.' or 'audit-', found '../x'"),
        mistake(o -> o.withCursorFileName("audit-1.jsonl"), "cursorFileName must be a plain file name that does not"
            + " start with '.' or 'audit-', found 'audit-1.jsonl'"),
        mistake(o -> o.withHeader("Content-Type", "text/plain"),
            "header Content-Type is set by the sink or the HTTP client, not configurable"),
        mistake(o -> o.withHeader("Host", "x"), "header Host is set by the sink or the HTTP client, not configurable"),
        mistake(o -> o.withHeader("Bad Name", "x"), "header name 'Bad Name' is not an HTTP token"),
        mistake(o -> o.withHeader("X-Token", "secret\r\nX-Injected: 1"),
            "the value of header X-Token contains CR, LF, NUL or non-Latin-1 characters"));
  }

  private static Arguments mistake(UnaryOperator<HttpSinkOptions> change, String message) {
    return Arguments.of(change, message);
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("mistakes")
  void mistakesAreRefusedNamingTheSettingButNeverAHeaderValue(UnaryOperator<HttpSinkOptions> change, String message) {
    assertThatThrownBy(() -> change.apply(DEFAULTS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message)
        .message().doesNotContain("secret");
  }
}

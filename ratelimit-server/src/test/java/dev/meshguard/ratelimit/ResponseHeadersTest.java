package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code response_headers}: upstream's {@code LIMIT_RESPONSE_HEADERS_ENABLED} and
 * {@code LIMIT_*_HEADER}. Over the wire, the cases of envoyproxy/ratelimit's
 * {@code test/service/ratelimit_test.go} ({@code TestServiceWithDefaultRatelimitHeaders},
 * {@code TestServiceWithCustomRatelimitHeaders}, and the lowest-remaining choice of
 * {@code TestServiceWithPerUnitRatelimitHeaders}), at a time 2 s into a minute as there, so the
 * reset is 58; then the choice rule of {@code shouldRateLimitWorker} ({@code src/service/ratelimit.go})
 * as a table.
 */
class ResponseHeadersTest {

  /** 2 s into a minute. */
  static final long NOW = 1_700_000_000L - 1_700_000_000L % 60 + 2;

  static final String CONFIG = """
      domain: different-domain
      descriptors:
        - {key: foo, rate_limit: {unit: minute, requests_per_unit: 10}}
        - {key: second, rate_limit: {unit: second, requests_per_unit: 10}}
        - {key: minute, rate_limit: {unit: minute, requests_per_unit: 1000}}
        - {key: unlimited, rate_limit: {unlimited: true}}
      """;

  @TempDir
  Path dir;

  private RateLimitResponse ask(ResponseHeaders headers, io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest request)
      throws Exception {
    Files.writeString(dir.resolve("d.yaml"), CONFIG);
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    RateLimitOptions options = RateLimitOptions.DEFAULTS.withConfigDir(dir).withPort(0).withResponseHeaders(headers);
    try (RateLimitServer server = RateLimitServer.start(options, new ManualClock(Instant.ofEpochSecond(NOW)),
        scheduler, new SimpleMeterRegistry())) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        return RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .shouldRateLimit(request);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      scheduler.shutdownNow();
    }
  }

  static List<String> headers(RateLimitResponse response) {
    List<String> out = new ArrayList<>();
    for (HeaderValue h : response.getResponseHeadersToAddList()) {
      out.add(h.getKey() + ": " + h.getValue());
    }
    return out;
  }

  @Test
  void defaultNamesFromTheOverLimitStatus() throws Exception {
    RateLimitResponse response = ask(ResponseHeaders.DEFAULTS.withEnabled(true),
        request("different-domain", 11, desc("foo", "bar"), desc("hello", "world")));
    assertThat(response.getOverallCode()).isEqualTo(RateLimitResponse.Code.OVER_LIMIT);
    assertThat(headers(response)).containsExactly("RateLimit-Limit: 10", "RateLimit-Remaining: 0",
        "RateLimit-Reset: 58");
  }

  @Test
  void customNames() throws Exception {
    RateLimitResponse response = ask(new ResponseHeaders(true, "A-Ratelimit-Limit", "A-Ratelimit-Remaining",
        "A-Ratelimit-Reset"), request("different-domain", 11, desc("foo", "bar"), desc("hello", "world")));
    assertThat(headers(response)).containsExactly("A-Ratelimit-Limit: 10", "A-Ratelimit-Remaining: 0",
        "A-Ratelimit-Reset: 58");
  }

  @Test
  void theLowestRemainingAmongLimitedStatuses() throws Exception {
    // second: 10/s with 9 left; minute: 1000/min with 8 left; unlimited: no limit. The minute wins.
    RateLimitResponse response = ask(ResponseHeaders.DEFAULTS.withEnabled(true), request("different-domain",
        desc("second", "limit").hits(1), desc("minute", "limit").hits(992), desc("unlimited", "descriptor")));
    assertThat(response.getOverallCode()).isEqualTo(RateLimitResponse.Code.OK);
    assertThat(headers(response)).containsExactly("RateLimit-Limit: 1000", "RateLimit-Remaining: 8",
        "RateLimit-Reset: 58");
  }

  @Test
  void offByDefault() throws Exception {
    assertThat(ResponseHeaders.DEFAULTS.enabled()).isFalse();
    RateLimitResponse response = ask(ResponseHeaders.DEFAULTS,
        request("different-domain", 11, desc("foo", "bar")));
    assertThat(response.getResponseHeadersToAddList()).isEmpty();
  }

  @Test
  void noneWhenNoStatusHasALimit() throws Exception {
    RateLimitResponse response = ask(ResponseHeaders.DEFAULTS.withEnabled(true),
        request("different-domain", desc("hello", "world"), desc("unlimited", "x")));
    assertThat(response.getResponseHeadersToAddList()).isEmpty();
  }

  static DescriptorStatus ok(long remaining) {
    return new DescriptorStatus(Code.OK, new CurrentLimit(10, RateLimitUnit.MINUTE, "ok" + remaining), remaining,
        Duration.ofSeconds(1));
  }

  static DescriptorStatus over(String name) {
    return new DescriptorStatus(Code.OVER_LIMIT, new CurrentLimit(10, RateLimitUnit.MINUTE, name), 0,
        Duration.ofSeconds(1));
  }

  static Stream<Arguments> choices() {
    DescriptorStatus shadowOver = new DescriptorStatus(Code.OK, new CurrentLimit(10, RateLimitUnit.HOUR, "shadow"), 0,
        Duration.ofSeconds(1));
    DescriptorStatus firstThree = ok(3);
    DescriptorStatus overA = over("a");
    DescriptorStatus overB = over("b");
    return Stream.of(
        Arguments.of("the lowest remaining", List.of(ok(5), ok(3)), 1),
        Arguments.of("the first of equals (strictly lower replaces)", List.of(firstThree, ok(3)), 0),
        Arguments.of("an over-limit status wins over a later 0 remaining", List.of(overA, ok(0)), 0),
        Arguments.of("the last over-limit status wins", List.of(overA, overB), 1),
        Arguments.of("over limit wins wherever it is", List.of(ok(2), overB, ok(1)), 1),
        Arguments.of("a shadow-mode status over its limit (OK, 0 left) is just the lowest", List.of(ok(4), shadowOver),
            1),
        Arguments.of("statuses without a limit never", List.of(DescriptorStatus.NO_LIMIT, DescriptorStatus.UNLIMITED),
            -1));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("choices")
  void choice(String name, List<DescriptorStatus> statuses, int expected) {
    DescriptorStatus chosen = RateLimitService.headerStatus(statuses);
    assertThat(chosen).isSameAs(expected < 0 ? null : statuses.get(expected));
  }

  @Test
  void headerNamesMustBeTokens() {
    assertThatThrownBy(() -> new ResponseHeaders(true, "RateLimit Limit", "R", "S"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("limit_header must be an HTTP header name (RFC 9110 token)");
    assertThatThrownBy(() -> new ResponseHeaders(true, "L", "", "S"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not be empty");
  }
}

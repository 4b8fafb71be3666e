package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.time.ManualClock;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's meters as Prometheus scrapes them: a real server and the real admin server on one
 * {@link Metrics} registry, requests over gRPC, then {@code GET /metrics}. Expected counts follow
 * upstream's stat rules (see {@link UpstreamStatsTest}) and the key naming of
 * {@code src/config/config_impl.go} (configured path; request values only with
 * {@code detailed_metric}).
 */
class MetricsEndpointTest {

  static final String CONFIG = """
      domain: envoy
      descriptors:
        - key: remote_address
          rate_limit: {unit: minute, requests_per_unit: 2}
        - key: user
          detailed_metric: true
          rate_limit: {unit: minute, requests_per_unit: 100}
        - key: generic_key
          value: login
          descriptors:
            - key: user
              rate_limit: {unit: minute, requests_per_unit: 5}
      """;

  @TempDir
  Path dir;

  /** Runs {@code requests} against a server with {@code options}, then returns the scrape as sample -> value. */
  private Map<String, Double> scrape(RateLimitOptions options, List<RateLimitRequest> requests) throws Exception {
    Files.writeString(dir.resolve("envoy.yaml"), CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (Metrics metrics = Metrics.create();
        AdminServer admin = AdminServer.start(new AdminOptions("127.0.0.1", 0), metrics, "ratelimit", false, clock);
        RateLimitServer server = RateLimitServer.start(options.withConfigDir(dir).withPort(0), clock, scheduler,
            metrics.registry())) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var stub = RateLimitServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        for (RateLimitRequest request : requests) {
          stub.shouldRateLimit(request);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + admin.endpoint() + "/metrics")).timeout(Duration.ofSeconds(10))
              .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      return parse(response.body());
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** Prometheus text format: {@code name{labels} value} per sample line. */
  static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new HashMap<>();
    for (String line : text.lines().toList()) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return samples;
  }

  static String stat(String stat, String key) {
    return "meshguard_ratelimit_" + stat + "_total{domain=\"envoy\",key=\"" + key + "\"}";
  }

  @Test
  void perDescriptorStatsStoreLatencyAndTheSeriesCap() throws Exception {
    RateLimitOptions options = RateLimitOptions.DEFAULTS.withEngineOptions(
        EngineOptions.DEFAULTS.withMaxMetricSeries(3));
    Map<String, Double> m = scrape(options, List.of(
        request("envoy", desc("remote_address", "a")),
        request("envoy", desc("remote_address", "a")),
        request("envoy", desc("remote_address", "a")), // over: into the local cache
        request("envoy", desc("remote_address", "b")),
        request("envoy", desc("remote_address", "a")), // answered by the local cache, no store call
        request("envoy", desc("user", "alice")),
        request("envoy", desc("user", "alice")),
        request("envoy", desc("user", "bob")), // the third series: the cap is reached
        request("envoy", desc("user", "carol")),
        request("envoy", desc("generic_key", "login", "user", "x"))));

    // Key-only descriptors roll up under the configured key: one series for a and b.
    // Limit 2, near threshold floor(2 * 0.8) = 1: a1 within; a2 within + near; a3 over; b1 within; a4 cached.
    assertThat(m).containsEntry(stat("total_hits", "remote_address"), 5.0)
        .containsEntry(stat("within_limit", "remote_address"), 3.0)
        .containsEntry(stat("near_limit", "remote_address"), 1.0)
        .containsEntry(stat("over_limit", "remote_address"), 2.0)
        .containsEntry(stat("over_limit_with_local_cache", "remote_address"), 1.0)
        .containsEntry(stat("shadow_mode", "remote_address"), 0.0);
    // detailed_metric: one series per value, until the cap of 3 series.
    assertThat(m).containsEntry(stat("total_hits", "user_alice"), 2.0)
        .containsEntry(stat("total_hits", "user_bob"), 1.0)
        .doesNotContainKey(stat("total_hits", "user_carol"))
        .doesNotContainKey(stat("total_hits", "generic_key_login.user"))
        .containsEntry(stat("total_hits", RateLimitMetrics.OTHER), 2.0);

    String latency = "meshguard_ratelimit_store_latency_seconds";
    assertThat(m).as("one store call per request except the cached one")
        .containsEntry(latency + "_count{domain=\"envoy\"}", 9.0)
        .containsEntry(latency + "_bucket{domain=\"envoy\",le=\"+Inf\"}", 9.0);
    assertThat(m.keySet().stream().filter(k -> k.startsWith(latency + "_bucket{")).count())
        .as("a histogram, not just a summary").isGreaterThan(10);
    assertThat(m).containsEntry("meshguard_ratelimit_global_shadow_mode_total", 0.0)
        .containsEntry("meshguard_ratelimit_store_errors_total{domain=\"envoy\"}", 0.0);
  }

  @Test
  void storeErrorsByDomainAndGlobalShadowMode() throws Exception {
    // Room for one counter: the second descriptor value needs a new one and the store fails.
    RateLimitOptions options = new RateLimitOptions(dir, "127.0.0.1", 0, FailureMode.DENY, Duration.ofHours(1), 1)
        .withEngineOptions(EngineOptions.DEFAULTS.withFailureMode(FailureMode.DENY).withShadowMode(true));
    Map<String, Double> m = scrape(options, List.of(
        request("envoy", desc("remote_address", "a")),
        request("envoy", desc("remote_address", "b")),
        request("envoy", desc("remote_address", "c"))));
    assertThat(m).containsEntry("meshguard_ratelimit_store_errors_total{domain=\"envoy\"}", 2.0)
        .as("the denials of the failure mode are over-limit answers that shadow mode turns OK")
        .containsEntry("meshguard_ratelimit_global_shadow_mode_total", 2.0)
        .containsEntry(stat("total_hits", "remote_address"), 3.0);
  }
}

package dev.meshguard.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.Version;
import dev.meshguard.core.time.ManualClock;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerIT {
  private final HttpClient client = HttpClient.newHttpClient();
  private final AtomicBoolean policiesLoaded = new AtomicBoolean(false);
  private Metrics metrics;
  private AdminServer admin;

  @BeforeEach
  void start() throws Exception {
    metrics = Metrics.create();
    admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), metrics, "authz", false,
        new ManualClock(Instant.parse("2026-11-28T07:00:00Z")));
    admin.markStarted();
    admin.register(() -> policiesLoaded.get()
        ? ComponentStatus.ready("authz", "rev-42", Map.of("grpc", "127.0.0.1:9191"))
        : ComponentStatus.notReady("authz", "no policies loaded", null, Map.of("grpc", "127.0.0.1:9191")));
  }

  @AfterEach
  void stop() {
    admin.close();
    metrics.close();
  }

  @Test
  void bindsToLoopbackByDefault() {
    assertThat(AdminOptions.DEFAULTS.host()).isEqualTo("127.0.0.1");
    assertThat(AdminOptions.DEFAULTS.port()).isEqualTo(9090);
    InetAddress bound = admin.address().getAddress();
    assertThat(bound.getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(bound.isLoopbackAddress()).isTrue();
    assertThat(admin.address().getPort()).isPositive();
  }

  @Test
  void notReadyUntilTheProcessHasStartedEveryServer() throws Exception {
    try (Metrics other = Metrics.create();
        AdminServer starting = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), other, "up", false,
            new ManualClock())) {
      URI readyz = URI.create("http://" + starting.endpoint() + "/readyz");
      HttpResponse<String> before = client.send(HttpRequest.newBuilder(readyz).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(before.statusCode()).isEqualTo(503);
      assertThat(before.body()).isEqualTo("not ready: admin (starting)\n");
      starting.markStarted();
      assertThat(client.send(HttpRequest.newBuilder(readyz).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(200);
    }
  }

  @Test
  void healthzAnswersWhileAlive() throws Exception {
    HttpResponse<String> response = get("/healthz");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("ok\n");
  }

  @Test
  void readyzFollowsComponents() throws Exception {
    HttpResponse<String> notReady = get("/readyz");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.body()).isEqualTo("not ready: authz (no policies loaded)\n");

    policiesLoaded.set(true);
    HttpResponse<String> ready = get("/readyz");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).isEqualTo("ready\n");
  }

  @Test
  void metricsArePrometheusTextWithJvmAndProcessMetrics() throws Exception {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue(AdminServer.PROMETHEUS_CONTENT_TYPE);
    assertThat(response.body())
        .contains("# TYPE jvm_memory_used_bytes gauge")
        .contains("jvm_threads_live_threads")
        .contains("jvm_classes_loaded_classes")
        .contains("process_uptime_seconds")
        .contains("process_cpu_usage")
        .contains("process_files_open_files");
  }

  @Test
  void metricsIncludeComponentMeters() throws Exception {
    metrics.registry().counter("meshguard_test_events_total", "kind", "demo").increment(3);
    assertThat(get("/metrics").body()).contains("meshguard_test_events_total{kind=\"demo\"} 3.0");
  }

  @Test
  void statusIsSnakeCaseJson() throws Exception {
    policiesLoaded.set(true);
    HttpResponse<String> response = get("/status");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode status = new ObjectMapper().readTree(response.body());
    assertThat(status.get("component").asText()).isEqualTo("authz");
    assertThat(status.get("version").asText()).isEqualTo(Version.current()).isNotEqualTo("unknown");
    assertThat(status.get("revision").asText()).isEqualTo("rev-42");
    assertThat(status.get("fips_mode").asBoolean()).isFalse();
    assertThat(status.get("ready").asBoolean()).isTrue();
    assertThat(status.get("started_at").asText()).isEqualTo("2026-11-28T07:00:00Z");
    assertThat(status.get("components")).hasSize(2);
    JsonNode adminComponent = status.get("components").get(0);
    assertThat(adminComponent.get("component").asText()).isEqualTo("admin");
    assertThat(adminComponent.get("endpoints").get("http").asText()).isEqualTo(admin.endpoint());
    JsonNode authz = status.get("components").get(1);
    assertThat(authz.get("endpoints").get("grpc").asText()).isEqualTo("127.0.0.1:9191");
    assertThat(authz.has("not_ready_reason")).isFalse();
  }

  @Test
  void statusShowsWhyAComponentIsNotReady() throws Exception {
    JsonNode status = new ObjectMapper().readTree(get("/status").body());
    assertThat(status.get("ready").asBoolean()).isFalse();
    assertThat(status.get("components").get(1).get("not_ready_reason").asText()).isEqualTo("no policies loaded");
  }

  @Test
  void onlyGetAndHeadAreAllowed() throws Exception {
    HttpResponse<String> post = client.send(HttpRequest.newBuilder(uri("/status"))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
    HttpResponse<String> head = client.send(HttpRequest.newBuilder(uri("/healthz"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
  }

  @Test
  void unknownPathsAre404() throws Exception {
    HttpResponse<String> response = get("/debug/pprof");
    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).contains("/healthz /readyz /metrics /status");
  }

  @Test
  void aBusyPortIsReportedWithTheAddress() throws Exception {
    try (Metrics other = Metrics.create()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> AdminServer.start(
              new AdminOptions("127.0.0.1", admin.address().getPort()), other, "x", false, new ManualClock()))
          .isInstanceOf(java.io.IOException.class)
          .hasMessageStartingWith("cannot bind the admin server to 127.0.0.1:" + admin.address().getPort());
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://" + admin.endpoint() + path);
  }
}

package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.desc;
import static dev.meshguard.ratelimit.EnvoyRateLimitRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.admin.AdminOptions;
import dev.meshguard.core.admin.AdminServer;
import dev.meshguard.core.admin.Metrics;
import dev.meshguard.core.time.ManualClock;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The quota admin API over real sockets: the admin server's HTTP port in front of a running rate
 * limit server, requests counted through its gRPC port.
 */
class QuotaAdminApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "s3cret-token-7f1c";

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-04-30T22:00:00Z"));
  private final List<QuotaAdminApi.Change> changes = new CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private ScheduledExecutorService scheduler;
  private RateLimitServer server;
  private AdminServer admin;
  private ManagedChannel channel;
  private volatile boolean auditAccepts = true;

  @AfterEach
  void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (admin != null) {
      admin.close();
    }
    if (server != null) {
      server.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }

  private void start(Path tokenFile) throws Exception {
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/envoy.yaml"), "domain: envoy\ndescriptors: []\n");
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/initech.yaml"), QuotaServerTest.quota("initech", 100));
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.ALLOW,
        Duration.ofHours(1), 1000).withQuota(QuotaOptions.DEFAULTS.withDir(dir.resolve("quotas")));
    scheduler = Executors.newSingleThreadScheduledExecutor();
    server = RateLimitServer.start(options, clock, scheduler, new SimpleMeterRegistry());
    admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), Metrics.create(), "ratelimit", false, clock);
    admin.route(QuotaAdminApi.PATH, QuotaAdminApi.create(server, tokenFile, clock, change -> {
      changes.add(change);
      return auditAccepts;
    }));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  private record Answer(int status, JsonNode body, String text) {}

  private Answer call(String method, String path, String body, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + admin.endpoint() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), JSON.readTree(response.body()), response.body());
  }

  private Answer call(String method, String path, String body) throws Exception {
    return call(method, path, body, null);
  }

  private RateLimitResponse.Code ask(String tenant) {
    return RateLimitServiceGrpc.newBlockingStub(channel).shouldRateLimit(request("envoy", desc("tenant", tenant)))
        .getOverallCode();
  }

  private static final String ACME_5 = """
      {"limits":[{"name":"monthly","period":"month","amount":5},
                 {"name":"per-minute","window_seconds":60,"amount":100,"enforcement":"soft"}]}""";

  @Test
  void createReadUpdateUsageResetDelete() throws Exception {
    start(null);
    Answer created = call("PUT", "/v1/quotas/acme", ACME_5);
    assertThat(created.status()).isEqualTo(201);
    assertThat(created.body().path("managed_by").asText()).isEqualTo("api");
    assertThat(call("GET", "/v1/quotas/acme", null).body()).isEqualTo(created.body());
    for (int i = 0; i < 5; i++) {
      assertThat(ask("acme")).isEqualTo(RateLimitResponse.Code.OK);
    }
    assertThat(ask("acme")).as("the quota set through the API is enforced").isEqualTo(RateLimitResponse.Code.OVER_LIMIT);

    Answer usage = call("GET", "/v1/quotas/acme/usage", null);
    assertThat(usage.status()).isEqualTo(200);
    JsonNode monthly = usage.body().path("limits").get(0);
    assertThat(monthly.path("name").asText()).isEqualTo("monthly");
    assertThat(monthly.path("used").asLong()).isEqualTo(5);
    assertThat(monthly.path("remaining").asLong()).isZero();
    assertThat(monthly.path("amount").asLong()).isEqualTo(5);
    assertThat(monthly.path("percent").asDouble()).isEqualTo(100.0);
    assertThat(monthly.path("resets_at").asText()).as("May 1st, UTC").isEqualTo("2026-05-01T00:00:00Z");
    JsonNode perMinute = usage.body().path("limits").get(1);
    assertThat(perMinute.path("used").asLong()).isEqualTo(5);
    assertThat(perMinute.path("percent").asDouble()).isEqualTo(5.0);

    Answer listed = call("GET", "/v1/quotas?above=0.8", null);
    assertThat(listed.body().path("tenants")).hasSize(1);
    assertThat(listed.body().path("tenants").get(0).path("tenant").asText()).isEqualTo("acme");
    assertThat(call("GET", "/v1/quotas?above=1", null).body().path("tenants")).isEmpty();
    assertThat(call("GET", "/v1/quotas", null).body().path("tenants")).extracting(t -> t.path("tenant").asText())
        .containsExactly("acme", "initech");

    Answer replaced = call("PUT", "/v1/quotas/acme", ACME_5.replace("\"amount\":5", "\"amount\":7"));
    assertThat(replaced.status()).isEqualTo(200);
    assertThat(ask("acme")).as("7 now").isEqualTo(RateLimitResponse.Code.OK);

    Answer reset = call("POST", "/v1/quotas/acme/reset", "");
    assertThat(reset.status()).isEqualTo(200);
    assertThat(call("GET", "/v1/quotas/acme/usage", null).body().path("limits").get(0).path("used").asLong()).isZero();

    Answer deleted = call("DELETE", "/v1/quotas/acme", null);
    assertThat(deleted.status()).isEqualTo(200);
    assertThat(call("GET", "/v1/quotas/acme", null).status()).isEqualTo(404);
    assertThat(call("GET", "/v1/quotas/acme/usage", null).status()).isEqualTo(404);
    assertThat(call("DELETE", "/v1/quotas/acme", null).status()).isEqualTo(404);
    assertThat(call("POST", "/v1/quotas/nobody/reset", "").status()).isEqualTo(404);

    assertThat(changes).extracting(QuotaAdminApi.Change::operation)
        .containsExactly("create", "replace", "reset", "delete");
    assertThat(changes).allSatisfy(c -> {
      assertThat(c.tenant()).isEqualTo("acme");
      assertThat(c.caller()).isEqualTo(QuotaAdminApi.CALLER_LOCAL);
      assertThat(c.sourceIp()).isEqualTo("127.0.0.1");
    });
    assertThat(changes.get(0).before()).isNull();
    assertThat(JSON.readTree(changes.get(0).after()).path("limits").get(0).path("amount").asLong()).isEqualTo(5);
    assertThat(JSON.readTree(changes.get(1).before()).path("limits").get(0).path("amount").asLong()).isEqualTo(5);
    assertThat(JSON.readTree(changes.get(1).after()).path("limits").get(0).path("amount").asLong()).isEqualTo(7);
    assertThat(JSON.readTree(changes.get(2).before()).path("limits").get(0).path("used").asLong()).isEqualTo(6);
    assertThat(JSON.readTree(changes.get(2).after()).path("limits").get(0).path("used").asLong()).isZero();
    assertThat(JSON.readTree(changes.get(3).before()).path("tenant").asText()).isEqualTo("acme");
    assertThat(changes.get(3).after()).isNull();
  }

  @Test
  void aYamlManagedTenantIsRefusedWithoutForce() throws Exception {
    start(null);
    Answer refused = call("PUT", "/v1/quotas/initech", ACME_5);
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.body().path("field").asText()).isEqualTo("force");
    assertThat(refused.body().path("error").asText()).contains("managed by YAML");
    assertThat(call("DELETE", "/v1/quotas/initech", null).status()).isEqualTo(409);
    assertThat(changes).isEmpty();
    assertThat(server.quotaStore().snapshot().get("initech").limits().get(0).amount()).isEqualTo(100);

    assertThat(call("PUT", "/v1/quotas/initech?force=true", ACME_5).status()).isEqualTo(200);
    assertThat(server.quotaStore().snapshot().get("initech").limits().get(0).amount()).isEqualTo(5);
    assertThat(changes).extracting(QuotaAdminApi.Change::operation).containsExactly("replace");
  }

  @Test
  void aTokenIsRequiredWhenConfiguredAndAWrongOneIsRefused() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, TOKEN + "\n");
    start(tokenFile);
    Answer none = call("PUT", "/v1/quotas/acme", ACME_5);
    assertThat(none.status()).isEqualTo(401);
    Answer wrong = call("PUT", "/v1/quotas/acme", ACME_5, TOKEN + "x");
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.text()).doesNotContain(TOKEN);
    assertThat(call("GET", "/v1/quotas", null, "s3cret").status()).as("a prefix is not the token").isEqualTo(401);
    assertThat(changes).isEmpty();
    assertThat(server.quotaStore().snapshot().get("acme")).isNull();

    assertThat(call("PUT", "/v1/quotas/acme", ACME_5, TOKEN).status()).isEqualTo(201);
    assertThat(changes).singleElement().satisfies(c -> assertThat(c.caller()).isEqualTo(QuotaAdminApi.CALLER_TOKEN));
    assertThat(changes.get(0).toString()).doesNotContain(TOKEN);
  }

  @Test
  void aChangeTheAuditRefusesIsReportedAsAnError() throws Exception {
    start(null);
    auditAccepts = false;
    Answer answer = call("PUT", "/v1/quotas/acme", ACME_5);
    assertThat(answer.status()).isEqualTo(500);
    assertThat(answer.body().path("error").asText()).contains("audit log refused");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', textBlock = """
      not json                                                                         | <none>
      []                                                                               | <none>
      {"limits":[]}                                                                    | limits
      {"tenant":"globex","limits":[{"name":"m","period":"month","amount":1}]}         | tenant
      {"time_zone":"Mars/Olympus","limits":[{"name":"m","period":"month","amount":1}]} | time_zone
      {"limits":[{"name":"m","period":"fortnight","amount":1}]}                       | limits[0].period
      {"limits":[{"name":"m","period":"month","amount":-1}]}                          | limits[0].amount
      {"limits":[{"name":"m","period":"month","amount":4294967296}]}                  | limits[0].amount
      {"limits":[{"name":"m","period":"month"}]}                                      | limits[0].amount
      {"limits":[{"name":"m","window_seconds":0,"amount":1}]}                         | limits[0].window_seconds
      {"limits":[{"name":"m","window_seconds":1,"algorithm":"token_bucket","amount":1}]} | limits[0].algorithm
      {"limits":[{"name":"m","period":"day","amount":1,"enforcement":"strict"}]}      | limits[0].enforcement
      {"limits":[{"name":"m","period":"day","amount":1},{"name":"m","period":"hour","amount":1}]} | limits[1].name
      {"limits":[{"period":"day","amount":1}]}                                        | limits[0].name
      {"limits":[{"name":"m","period":"day","amount":1,"burst":3}]}                   | limits[0].burst
      {"unlimited":true,"limits":[{"name":"m","period":"day","amount":1}]}            | limits
      {"limit":[]}                                                                     | limit
      """)
  void aBadBodyIsRefusedNamingTheField(String body, String field) throws Exception {
    start(null);
    Answer answer = call("PUT", "/v1/quotas/acme", body);
    assertThat(answer.status()).isEqualTo(400);
    assertThat(answer.body().path("error").asText()).isNotBlank();
    if (field.equals("<none>")) {
      assertThat(answer.body().has("field")).isFalse();
    } else {
      assertThat(answer.body().path("field").asText()).isEqualTo(field);
      assertThat(answer.body().path("error").asText()).contains(field);
    }
    assertThat(changes).isEmpty();
  }

  @Test
  void aBadThresholdIsRefused() throws Exception {
    start(null);
    Answer answer = call("GET", "/v1/quotas?above=lots", null);
    assertThat(answer.status()).isEqualTo(400);
    assertThat(answer.body().path("field").asText()).isEqualTo("above");
  }
}

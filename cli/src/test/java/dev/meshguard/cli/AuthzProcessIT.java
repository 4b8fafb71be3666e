package dev.meshguard.cli;

import static dev.meshguard.cli.PackagedJar.awaitServer;
import static dev.meshguard.cli.PackagedJar.get;
import static dev.meshguard.cli.PackagedJar.meshguard;
import static dev.meshguard.cli.PackagedJar.readQuietly;
import static dev.meshguard.cli.PackagedJar.replaceFile;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meshguard authz --policies DIR} as a separate process from the packaged distribution:
 * it reports SERVING, allows and denies (a deny as an OK RPC), picks up an edited policy, keeps
 * the last good one when a file breaks and says why on {@code /status}, writes denies to the
 * audit log, and stops on SIGTERM.
 */
class AuthzProcessIT {
  @TempDir
  Path tmp;

  private Process process;
  private ManagedChannel channel;

  @AfterEach
  void kill() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (process != null) {
      process.destroyForcibly();
    }
  }

  /** A CheckRequest as Envoy's HTTP filter sends it, for namespace demo (context_extensions). */
  static CheckRequest check(String method, String path) {
    return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
            .setSource(AttributeContext.Peer.newBuilder().setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(50000))))
            .setDestination(AttributeContext.Peer.newBuilder().setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(10000))))
            .putContextExtensions("namespace", "demo")
            .setRequest(AttributeContext.Request.newBuilder().setHttp(AttributeContext.HttpRequest.newBuilder()
                .setId("1").setMethod(method).setPath(path).setHost("app").setScheme("http").setProtocol("HTTP/1.1")
                .putHeaders(":method", method).putHeaders(":path", path).putHeaders(":authority", "app")
                .putHeaders(":scheme", "http"))))
        .build();
  }

  static String policy(String method) {
    return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow, namespace: demo}\n"
        + "spec:\n  action: ALLOW\n  rules:\n  - to: [{operation: {methods: [\"" + method + "\"]}}]\n";
  }

  @Test
  void servesReloadsKeepsTheLastGoodPolicyAndAuditsDenies() throws Exception {
    Path policies = Files.createDirectories(tmp.resolve("policies"));
    Files.writeString(policies.resolve("demo.yaml"), policy("GET"));
    Path settings = tmp.resolve("meshguard.yaml");
    Files.writeString(settings, "authz:\n  reload_interval: 50ms\n  metadata: {tenant: \"header:x-tenant\"}\n"
        + "  default_namespace: demo\n");
    Path log = tmp.resolve("authz.log");
    process = meshguard(log, "authz",
            "--policies", policies.toString(), "--config", settings.toString(), "--port", "0",
            "--http-port", "0", "--admin-port", "0", "--audit-dir", tmp.resolve("audit").toString()).start();
    PackagedJar.Server server = awaitServer(log, "meshguard authz");
    int port = server.port("authz", "grpc");
    int httpPort = server.port("authz", "http");
    assertThat(Files.readString(log)).contains("authz      grpc://127.0.0.1:" + port + "  1 policies, revision")
        .contains("http://127.0.0.1:" + httpPort + "/authz  HTTP service mode");
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    assertThat(HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder()
        .setService("envoy.service.auth.v3.Authorization").build()).getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    assertThat(code("GET")).isZero();
    CheckResponse denied = stub().check(check("POST", "/x"));
    assertThat(denied.getStatus().getCode()).isEqualTo(7);
    assertThat(denied.getDeniedResponse().getBody()).isEqualTo("RBAC: access denied");
    String deniedId = denied.getDynamicMetadata().getFieldsOrThrow("decision_id").getStringValue();
    // The HTTP service mode decides the same way (the workload: default_namespace demo).
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> allowed = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
          + "/authz/x")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(allowed.statusCode()).isEqualTo(200);
      HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
          + "/authz/x")).POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.body()).isEqualTo("RBAC: access denied");
    }

    replaceFile(policies.resolve("demo.yaml"), tmp, policy("POST"));
    Await.until(Duration.ofSeconds(30), () -> code("POST") == 0, () -> "the edited policy to apply; log:\n"
        + readQuietly(log));

    replaceFile(policies.resolve("demo.yaml"), tmp, policy("POST").replace("action: ALLOW", "action: MAYBE"));
    URI status = server.admin("/status");
    Await.until(Duration.ofSeconds(30), () -> get(status).contains("\"last_error\""),
        () -> "/status to show the refused reload; got " + get(status));
    assertThat(get(status)).contains("\"http\":\"127.0.0.1:" + httpPort + "\"");
    assertThat(get(status)).contains("demo.yaml:5:").contains("\"loaded_at\"").contains("\"component\":\"authz\"");
    assertThat(code("POST")).as("the last good policy keeps serving").isZero();
    String metrics = get(server.admin("/metrics"));
    assertThat(metrics).contains("meshguard_authz_decisions_total{outcome=\"deny\",policy=\"none\"}")
        .contains("meshguard_authz_check_duration_seconds_bucket")
        .contains("meshguard_authz_policy_reload_failures_total 1.0");

    process.destroy();
    assertThat(process.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(log)).contains("meshguard authz stopped");
    assertThat(Main.commandLine().execute("audit", "verify", tmp.resolve("audit").toString())).isZero();
    java.io.StringWriter events = new java.io.StringWriter();
    picocli.CommandLine query = Main.commandLine();
    query.setOut(new java.io.PrintWriter(events));
    assertThat(query.execute("audit", "query", "--component", "authz", "--outcome", "deny", "--format", "json",
        tmp.resolve("audit").toString())).isZero();
    assertThat(events.toString()).contains(deniedId).contains("\"kind\":\"decision\"");
  }

  private AuthorizationGrpc.AuthorizationBlockingStub stub() {
    return AuthorizationGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private int code(String method) {
    return stub().check(check(method, "/")).getStatus().getCode();
  }
}

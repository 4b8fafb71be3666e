package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CUSTOM policies against real providers over real sockets: a second meshguard as the gRPC
 * provider, a small JDK HttpServer as the HTTP provider, slow providers (timeout) and providers
 * that are not there, under both failure modes.
 */
class CustomProviderTest {

  /** Server A's policies: everything under /orders and /admin goes to PROVIDER first; the rest is allowed. */
  static String customPolicies(String provider) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: ext, namespace: shop}
        spec:
          action: CUSTOM
          provider: {name: PROVIDER}
          rules:
          - to: [{operation: {paths: ["/orders*", "/admin*"]}}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: allow-all, namespace: shop}
        spec:
          action: ALLOW
          rules: [{}]
        """.replace("PROVIDER", provider);
  }

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void close() throws Exception {
    release.countDown();
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  private AuthzFixture server(String name, String meshConfig, String policies) throws Exception {
    Path home = Files.createDirectories(dir.resolve(name));
    AuthzOptions options = AuthzOptions.DEFAULTS;
    if (meshConfig != null) {
      options = options.toBuilder().meshConfig(Files.writeString(home.resolve("mesh.yaml"), meshConfig)).build();
    }
    AuthzFixture f = AuthzFixture.start(home, options, policies, null);
    closing.add(f);
    return f;
  }

  private static CheckRequest get(String path, String principal) {
    return EnvoyCheckRequests.http("GET", path).workload("shop", "app=orders").principal(principal).build();
  }

  private static Map<String, String> headers(List<HeaderValueOption> options) {
    return options.stream().collect(Collectors.toMap(o -> o.getHeader().getKey(), o -> o.getHeader().getValue(),
        (a, b) -> a + "," + b));
  }

  @Test
  void aSecondMeshguardIsTheGrpcProvider() throws Exception {
    AuthzFixture b = server("b", null, AuthzFixture.POLICIES);
    AuthzFixture a = server("a", """
        extensionProviders:
        - name: meshguard-b
          envoyExtAuthzGrpc: {service: 127.0.0.1, port: %d, timeout: 30s}
        """.formatted(b.server.port()), customPolicies("meshguard-b"));

    // B allows the frontend to GET /orders*: A's CUSTOM passes, then A's ALLOW policy allows.
    CheckResponse allowed = a.stub.check(get("/orders/7", AuthzFixture.FRONTEND));
    assertThat(allowed.getStatus().getCode()).isZero();

    // B denies /admin (its DENY policy): A denies by its CUSTOM policy and relays B's denied response.
    CheckResponse denied = a.stub.check(get("/admin/users", AuthzFixture.FRONTEND));
    assertThat(denied.getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(denied.getStatus().getMessage()).contains("shop/ext").contains("meshguard-b");
    assertThat(denied.getDynamicMetadata().getFieldsMap().get(AuthzService.POLICY).getStringValue())
        .isEqualTo("shop/ext");
    assertThat(denied.getDeniedResponse().getBody()).isEqualTo("RBAC: access denied");

    // B allows no one else: an unknown caller is denied by B, so by A.
    assertThat(a.stub.check(get("/orders/7", "spiffe://cluster.local/ns/x/sa/y")).getStatus().getCode())
        .isEqualTo(AuthzService.PERMISSION_DENIED);

    // Paths outside the CUSTOM rules never reach the provider.
    assertThat(a.stub.check(get("/health", "spiffe://cluster.local/ns/x/sa/y")).getStatus().getCode()).isZero();

    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "meshguard-b", "outcome", "allow"))
        .isEqualTo(1);
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "meshguard-b", "outcome", "deny"))
        .isEqualTo(2);
    // B saw exactly the three requests A passed on, decided by its own policies.
    assertThat(b.counter("meshguard.authz.decisions", "outcome", "allow", "policy", "shop/orders")).isEqualTo(1);
    assertThat(b.counter("meshguard.authz.decisions", "outcome", "deny", "policy", "shop/deny-admin")).isEqualTo(1);
  }

  /** A provider that allows when the request carries {@code x-allow: yes}; records what it was asked. */
  private HttpServer httpProvider(List<String> seen) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(FreePorts.LOOPBACK, 0), 0);
    server.createContext("/", exchange -> {
      seen.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " x-allow="
          + exchange.getRequestHeaders().getFirst("x-allow") + " cookie="
          + exchange.getRequestHeaders().getFirst("cookie") + " x-fixed="
          + exchange.getRequestHeaders().getFirst("x-fixed"));
      if ("yes".equals(exchange.getRequestHeaders().getFirst("x-allow"))) {
        exchange.getResponseHeaders().add("x-user", "alice");
        exchange.getResponseHeaders().add("x-internal", "not for upstream");
        respond(exchange, 200, "");
      } else {
        exchange.getResponseHeaders().add("x-reason", "no x-allow");
        exchange.getResponseHeaders().add("x-internal", "not for the client");
        respond(exchange, 401, "nope from provider");
      }
    });
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    closing.add(() -> server.stop(0));
    return server;
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      exchange.getResponseBody().write(bytes);
    }
    exchange.close();
  }

  @Test
  void aMinimalHttpProviderAllowsAndDeniesByAHeader() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer provider = httpProvider(seen);
    AuthzFixture a = server("a", """
        extensionProviders:
        - name: http-authz
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            pathPrefix: /check
            timeout: 30s
            includeRequestHeadersInCheck: [x-allow]
            includeAdditionalHeadersInCheck: {x-fixed: from-mesh-config}
            headersToUpstreamOnAllow: [x-user]
            headersToDownstreamOnDeny: [x-reason]
        """.formatted(provider.getAddress().getPort()), customPolicies("http-authz"));

    CheckResponse allowed = a.stub.check(EnvoyCheckRequests.http("GET", "/orders/7?expand=1")
        .workload("shop", "app=orders").header("x-allow", "yes").header("cookie", "secret").build());
    assertThat(allowed.getStatus().getCode()).isZero();
    assertThat(headers(allowed.getOkResponse().getHeadersList())).containsEntry("x-user", "alice")
        .doesNotContainKey("x-internal");

    CheckResponse denied = a.stub.check(EnvoyCheckRequests.http("DELETE", "/orders/7")
        .workload("shop", "app=orders").build());
    assertThat(denied.getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(denied.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.Unauthorized);
    assertThat(denied.getDeniedResponse().getBody()).isEqualTo("nope from provider");
    assertThat(headers(denied.getDeniedResponse().getHeadersList())).containsEntry("x-reason", "no x-allow")
        .doesNotContainKey("x-internal");

    // Method, prefix + original path with its query, only the included headers plus the fixed one.
    assertThat(seen).containsExactly(
        "GET /check/orders/7?expand=1 x-allow=yes cookie=null x-fixed=from-mesh-config",
        "DELETE /check/orders/7 x-allow=null cookie=null x-fixed=from-mesh-config");
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "http-authz", "outcome", "allow"))
        .isEqualTo(1);
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "http-authz", "outcome", "deny"))
        .isEqualTo(1);
  }

  @Test
  void anHttpProvider5xxIsAnErrorLeftToTheFailureMode() throws Exception {
    HttpServer provider = HttpServer.create(new InetSocketAddress(FreePorts.LOOPBACK, 0), 0);
    provider.createContext("/", exchange -> respond(exchange, 503, "overloaded"));
    provider.start();
    closing.add(() -> provider.stop(0));
    AuthzFixture a = server("a", """
        extensionProviders:
        - name: flaky
          envoyExtAuthzHttp: {service: 127.0.0.1, port: %d, timeout: 30s, statusOnError: "503"}
        """.formatted(provider.getAddress().getPort()), customPolicies("flaky"));

    CheckResponse r = a.stub.check(get("/orders/1", AuthzFixture.FRONTEND));
    assertThat(r.getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(r.getStatus().getMessage()).contains("provider error").contains("503");
    assertThat(r.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.ServiceUnavailable);
    assertThat(r.getDeniedResponse().getBody()).isEmpty();
    assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", "flaky", "outcome", "error"))
        .isEqualTo(1);
  }

  /** Two providers on one slow endpoint, one failing open and one closed, for workloads app=open and app=closed. */
  private static String slowMesh(String kind, int port) {
    return slowMesh(kind, port, "0.2s");
  }

  private static String slowMesh(String kind, int port, String timeout) {
    return """
        extensionProviders:
        - name: slow-open
          KIND: {service: 127.0.0.1, port: PORT, timeout: TIMEOUT, failOpen: true}
        - name: slow-closed
          KIND: {service: 127.0.0.1, port: PORT, timeout: TIMEOUT, failOpen: false, statusOnError: "504"}
        """.replace("KIND", kind).replace("PORT", Integer.toString(port)).replace("TIMEOUT", timeout);
  }

  private static final String BY_WORKLOAD = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: ext-open, namespace: shop}
      spec:
        selector: {matchLabels: {app: open}}
        action: CUSTOM
        provider: {name: slow-open}
        rules: [{}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: ext-closed, namespace: shop}
      spec:
        selector: {matchLabels: {app: closed}}
        action: CUSTOM
        provider: {name: slow-closed}
        rules: [{}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: allow-all, namespace: shop}
      spec:
        action: ALLOW
        rules: [{}]
      """;

  private void assertFailureModes(AuthzFixture a, String outcome, String kind) {
    CheckResponse open = a.stub.check(EnvoyCheckRequests.http("GET", "/x").workload("shop", "app=open").build());
    assertThat(open.getStatus().getCode()).isZero();
    CheckResponse closed = a.stub.check(EnvoyCheckRequests.http("GET", "/x").workload("shop", "app=closed").build());
    assertThat(closed.getStatus().getCode()).isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(closed.getStatus().getMessage()).contains("shop/ext-closed").contains("provider " + outcome);
    assertThat(closed.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.GatewayTimeout);
    for (String provider : List.of("slow-open", "slow-closed")) {
      assertThat(a.counter("meshguard.authz.custom.provider.calls", "provider", provider, "outcome", outcome))
          .as(kind + " " + provider).isEqualTo(1);
    }
  }

  @Test
  void aSlowHttpProviderTimesOutIntoItsFailureMode() throws Exception {
    HttpServer slow = HttpServer.create(new InetSocketAddress(FreePorts.LOOPBACK, 0), 0);
    slow.createContext("/", exchange -> {
      await(release);
      respond(exchange, 200, "");
    });
    slow.setExecutor(Executors.newCachedThreadPool());
    slow.start();
    closing.add(() -> slow.stop(0));
    AuthzFixture a = server("a", slowMesh("envoyExtAuthzHttp", slow.getAddress().getPort()), BY_WORKLOAD);
    assertFailureModes(a, "timeout", "http");
  }

  @Test
  void aSlowGrpcProviderTimesOutIntoItsFailureMode() throws Exception {
    List<StreamObserver<CheckResponse>> held = new CopyOnWriteArrayList<>();
    GrpcServer slow = GrpcServer.builder().port(0).addService(new AuthorizationGrpc.AuthorizationImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
        held.add(observer); // never answered: the caller's deadline must end the call
      }
    }).start();
    closing.add(slow);
    // 2 s, not 0.2 s: the calls must reach the provider before the deadline (a loaded machine took
    // more than 0.2 s to connect, and the provider never saw the call), and arrive on its thread even
    // if the caller has given up by then.
    AuthzFixture a = server("a", slowMesh("envoyExtAuthzGrpc", slow.port(), "2s"), BY_WORKLOAD);
    assertFailureModes(a, "timeout", "grpc");
    Await.until(Duration.ofSeconds(10), () -> held.size() == 2, () -> "both calls at the provider, found "
        + held.size());
  }

  @Test
  void providersThatAreDownGetTheirFailureMode() throws Exception {
    int nobody = FreePorts.port();
    for (String kind : List.of("envoyExtAuthzGrpc", "envoyExtAuthzHttp")) {
      // A refused connection fails at once; a long timeout keeps a loaded machine's slow connect
      // attempt from being counted as a timeout instead of the error under test.
      AuthzFixture a = server("a-" + kind, slowMesh(kind, nobody, "30s"), BY_WORKLOAD);
      assertFailureModes(a, "error", kind);
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void providersAreCalledOffTheNettyEventLoops() throws Exception {
    Path home = Files.createDirectories(dir.resolve("threads"));
    Files.writeString(home.resolve("p.yaml"), customPolicies("p"));
    Path mesh = Files.writeString(home.resolve("mesh.yaml"), """
        extensionProviders:
        - name: p
          envoyExtAuthzGrpc: {service: 127.0.0.1, port: 1}
        """);
    List<String> threads = new CopyOnWriteArrayList<>();
    var scheduler = Executors.newSingleThreadScheduledExecutor();
    closing.add(scheduler::shutdownNow);
    AuthzServer server = AuthzServer.start(AuthzOptions.builder().policies(List.of(home.resolve("p.yaml")))
            .meshConfig(mesh).port(0).httpPort(0).defaultNamespace("shop").build(), AuthzFixture.crypto(),
        dev.meshguard.core.time.Clock.SYSTEM, scheduler,
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), event -> { },
        (request, meshConfig) -> provider -> {
          threads.add(Thread.currentThread().getName());
          return true;
        });
    closing.add(server);
    var channel = io.grpc.netty.NettyChannelBuilder.forAddress(FreePorts.LOOPBACK, server.port()).usePlaintext()
        .build();
    closing.add(channel::shutdownNow);
    assertThat(AuthorizationGrpc.newBlockingStub(channel).check(get("/orders/1", AuthzFixture.FRONTEND))
        .getStatus().getCode()).isZero();
    // The HTTP service mode's port: the same provider, reached from its decision threads.
    var http = java.net.http.HttpClient.newHttpClient();
    var answer = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + FreePorts.LOOPBACK
        + ":" + server.httpPort() + "/authz/orders/1")).build(), java.net.http.HttpResponse.BodyHandlers.discarding());
    assertThat(answer.statusCode()).isEqualTo(200);
    // A blocking provider call on an event loop would stall every connection that loop serves.
    assertThat(threads).hasSize(2);
    assertThat(threads.get(0)).doesNotContain("meshguard-grpc-worker").doesNotContain("meshguard-grpc-boss");
    assertThat(threads.get(1)).startsWith("meshguard-authz-http-decider");
  }

  @Test
  void rawHeaderMapsAreForwardedAndTheProviderCanRemoveAndAddHeaders() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer provider = HttpServer.create(new InetSocketAddress(FreePorts.LOOPBACK, 0), 0);
    provider.createContext("/", exchange -> {
      seen.add(exchange.getRequestHeaders().getFirst("x-allow") + " " + exchange.getRequestHeaders()
          .getFirst("authorization"));
      exchange.getResponseHeaders().add("x-envoy-auth-headers-to-remove", "authorization, x-debug");
      exchange.getResponseHeaders().add("x-trace", "t-1");
      respond(exchange, 200, "");
    });
    provider.start();
    closing.add(() -> provider.stop(0));
    AuthzFixture a = server("a", """
        extensionProviders:
        - name: raw
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            timeout: 30s
            includeRequestHeadersInCheck: ["x-allow*"]
            headersToDownstreamOnAllow: ["*-trace"]
        """.formatted(provider.getAddress().getPort()), customPolicies("raw"));

    CheckResponse r = a.stub.check(EnvoyCheckRequests.http("GET", "/orders/1").workload("shop", "app=orders")
        .header("x-allow", "yes").header("authorization", "Bearer t").rawHeaders().build());
    assertThat(r.getStatus().getCode()).isZero();
    // Authorization always goes to an HTTP provider (as Envoy's http_service sends it).
    assertThat(seen).containsExactly("yes Bearer t");
    assertThat(r.getOkResponse().getHeadersToRemoveList()).containsExactly("authorization", "x-debug");
    assertThat(headers(r.getOkResponse().getResponseHeadersToAddList())).containsEntry("x-trace", "t-1");
    assertThat(r.getOkResponse().getHeadersList()).isEmpty();
  }
}

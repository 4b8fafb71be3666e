package dev.meshguard.cli;

import static dev.meshguard.cli.PackagedJar.JAR;
import static dev.meshguard.cli.PackagedJar.awaitServer;
import static dev.meshguard.cli.PackagedJar.javaBinary;
import static dev.meshguard.cli.PackagedJar.meshguard;
import static dev.meshguard.cli.PackagedJar.readQuietly;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the packaged distribution ({@code cli/target/meshguard.jar} with its {@code lib/}) as a
 * separate process, exactly as the launcher does, and stops it with SIGTERM.
 */
class UpProcessIT {
  @TempDir
  Path tmp;

  private Process process;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void upServesHealthzAndStopsOnSigterm() throws Exception {
    Path log = tmp.resolve("up.log");
    process = withCa(meshguard(log, "up", "--admin-port", "0", "--audit-dir", tmp.resolve("audit").toString()))
        .start();

    // The banner comes after every server is up; wait for it, then ask the admin server.
    PackagedJar.Server server = awaitServer(log, "meshguard up");
    int adminPort = server.adminPort();
    int caPort = server.port("ca", "grpc");
    assertThat(Files.readString(log)).contains("admin      http://127.0.0.1:" + adminPort)
        .contains("ca         grpc://127.0.0.1:" + caPort + "  Istio CA API for spiffe://cluster.local (TLS by SunJSSE)")
        .contains("bundle     https://127.0.0.1:" + server.port("ca", "bundle") + "/  SPIFFE trust bundle (https_web)");
    assertThat(tmp.resolve("ca").resolve("root-cert.pem")).as("up created the CA").exists();
    // The connect timeout is for a loaded machine: the admin server is up, a connect takes no longer.
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    String statusPage = client.send(HttpRequest.newBuilder(server.admin("/status"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(statusPage).contains("\"component\":\"ca\"").contains("\"grpc\":\"127.0.0.1:" + caPort + "\"");
    URI healthz = server.admin("/healthz");
    HttpResponse<String> response = client.send(HttpRequest.newBuilder(healthz).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("ok\n");

    long start = System.nanoTime();
    process.destroy(); // SIGTERM
    // Seconds, not a hang: a loaded machine may take a few to run the shutdown hooks of a cold JVM.
    boolean exited = process.waitFor(15, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(exited).as("meshguard up stopped within 15 s of SIGTERM (took %s); log:%n%s", took,
        Files.readString(log)).isTrue();
    // 143 = 128 + SIGTERM: the JVM ran its shutdown hooks and exited on the signal.
    assertThat(process.exitValue()).isEqualTo(143);
    assertThat(Files.readString(log)).contains("meshguard stopped");
    // The audit log was closed cleanly: the start event and the closing checkpoint verify.
    assertThat(Main.commandLine().execute("audit", "verify", tmp.resolve("audit").toString())).isZero();
    try (ServerSocket reuse = new ServerSocket(adminPort)) {
      assertThat(reuse.getLocalPort()).as("admin port released").isEqualTo(adminPort);
    }
  }

  @Test
  void upInFipsModeReportsItAndSignsItsAuditLogInsideTheModule() throws Exception {
    Path log = tmp.resolve("fips.log");
    Path audit = tmp.resolve("fips-audit");
    process = withCa(meshguard(log, "up", "--fips", "--admin-port", "0", "--audit-dir", audit.toString())).start();
    PackagedJar.Server server = awaitServer(log, "meshguard up --fips");
    assertThat(Files.readString(log)).contains("(fips mode: on)").contains("(TLS by BCJSSE)");
    HttpResponse<String> status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(server.admin("/status"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(status.body()).contains("\"fips_mode\":true");
    process.destroy();
    assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(Main.commandLine().execute("audit", "verify", audit.toString())).isZero();
  }

  @Test
  void upShipsItsAuditLogToAnHttpCollector() throws Exception {
    java.util.List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer collector =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/v1/audit", exchange -> {
      received.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
          + " auth=" + exchange.getRequestHeaders().getFirst("Authorization"));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    collector.start();
    try {
      Path token = tmp.resolve("token");
      Files.writeString(token, "Bearer collector-secret\n");
      Path config = tmp.resolve("meshguard.yaml");
      Files.writeString(config, "audit:\n  sinks:\n    http:\n      url: http://127.0.0.1:"
          + collector.getAddress().getPort() + "/v1/audit\n      max_batch_delay: 10ms\n      authorization_file: "
          + token + "\n");
      Path log = tmp.resolve("sink.log");
      process = withCa(meshguard(log, "up", "--config", config.toString(), "--admin-port", "0",
          "--audit-dir", tmp.resolve("sink-audit").toString())).start();
      Await.until(PackagedJar.START_TIMEOUT, () -> String.join("", received).contains("\"kind\":\"start\""),
          () -> "the start event at the collector; got " + received + "; log:\n" + readQuietly(log));
      assertThat(received.get(0)).startsWith("[{").endsWith("] auth=Bearer collector-secret");
      assertThat(readQuietly(log)).doesNotContain("collector-secret");
      process.destroy();
      assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(String.join("", received)).as("the closing checkpoint is shipped on shutdown")
          .contains("\"kind\":\"checkpoint\"");
    } finally {
      collector.stop(0);
    }
  }

  @Test
  void upServesTheRateLimitServiceWithTheExampleConfigs() throws Exception {
    Path log = tmp.resolve("rls.log");
    // From the checkout's root, where the default ratelimit.config_dir (policies/ratelimit) is.
    ProcessBuilder builder = meshguard(log, "up", "--admin-port", "0",
            "--audit-dir", tmp.resolve("rls-audit").toString())
        .directory(Path.of("..").toAbsolutePath().normalize().toFile());
    builder.environment().put("MESHGUARD_RATELIMIT_PORT", "0");
    process = withCa(builder).start();
    PackagedJar.Server server = awaitServer(log, "meshguard up");
    int adminPort = server.adminPort();
    int rlsPort = server.port("ratelimit", "grpc");
    int authzPort = server.port("authz", "grpc");
    int authzHttpPort = server.port("authz", "http");
    assertThat(Files.readString(log))
        .contains("ratelimit  grpc://127.0.0.1:" + rlsPort + "  2 domains (edge, tenants)")
        .contains("rate_limit_service -> grpc cluster (HTTP/2) at 127.0.0.1:" + rlsPort)
        .contains("authz      grpc://127.0.0.1:" + authzPort)
        .contains("http://127.0.0.1:" + authzHttpPort + "/authz  HTTP service mode");
    io.grpc.ManagedChannel authz = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", authzPort)
        .usePlaintext().build();
    try {
      // The example policies (policies/authz/demo): reads allowed, /admin denied, as an OK RPC.
      var stub = io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc.newBlockingStub(authz);
      assertThat(stub.withDeadlineAfter(30, TimeUnit.SECONDS).check(AuthzProcessIT.check("GET", "/")).getStatus()
          .getCode()).isZero();
      assertThat(stub.withDeadlineAfter(30, TimeUnit.SECONDS).check(AuthzProcessIT.check("GET", "/admin"))
          .getStatus().getCode()).isEqualTo(7);
    } finally {
      authz.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      String status = http.send(HttpRequest.newBuilder(server.admin("/status"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertThat(status).as("/status lists the authz HTTP service mode")
          .contains("\"http\":\"127.0.0.1:" + authzHttpPort + "\"");
      // up's default_namespace is the demo policies' namespace: reads are allowed, /admin is denied.
      HttpResponse<String> read = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + authzHttpPort + "/authz/orders")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(read.statusCode()).isEqualTo(200);
      HttpResponse<String> admin = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + authzHttpPort + "/authz/admin/users")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(admin.statusCode()).isEqualTo(403);
    }

    io.grpc.ManagedChannel channel = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", rlsPort)
        .usePlaintext().build();
    try {
      // What Envoy's filter sends for a route with a remote_address action (domain "edge").
      var request = io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest.newBuilder().setDomain("edge")
          .addDescriptors(io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.newBuilder()
              .addEntries(io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.Entry.newBuilder()
                  .setKey("remote_address").setValue("10.0.0.1")))
          .build();
      var response = io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).shouldRateLimit(request);
      assertThat(response.getOverallCode())
          .isEqualTo(io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code.OK);
      var status = response.getStatuses(0);
      assertThat(status.getCurrentLimit().getName()).isEqualTo("per-client-ip");
      assertThat(status.getCurrentLimit().getRequestsPerUnit()).isEqualTo(100);
      assertThat(status.getCurrentLimit().getUnit())
          .isEqualTo(io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.RateLimit.Unit.MINUTE);
      assertThat(status.getLimitRemaining()).isEqualTo(99);
      assertThat(status.getDurationUntilReset().getSeconds()).isBetween(1L, 60L);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    HttpResponse<String> statusPage = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        server.admin("/status")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(statusPage.body()).contains("\"component\":\"ratelimit\"")
        .contains("\"grpc\":\"127.0.0.1:" + rlsPort + "\"");
    // policies/quotas imported out of the box: acme, internal and the default quota ("*").
    assertThat(statusPage.body()).contains("\"component\":\"quota\"").contains("\"tenants\":\"3\"");
    java.io.StringWriter quotaOut = new java.io.StringWriter();
    picocli.CommandLine quota = Main.commandLine();
    quota.setOut(new java.io.PrintWriter(quotaOut));
    assertThat(quota.execute("quota", "list", "--admin", "http://127.0.0.1:" + adminPort)).isZero();
    assertThat(quotaOut.toString()).containsPattern("acme +yaml +3");

    process.destroy();
    assertThat(process.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(143);
    try (ServerSocket reuse = new ServerSocket(rlsPort)) {
      assertThat(reuse.getLocalPort()).as("rate limit port released").isEqualTo(rlsPort);
    }
  }

  @Test
  void helpListsEverySubcommand() throws Exception {
    Path log = tmp.resolve("help.log");
    process = new ProcessBuilder(List.of(javaBinary(), "-jar", JAR.toAbsolutePath().toString(), "--help"))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isZero();
    assertThat(Files.readString(log)).contains("Usage: meshguard").containsPattern("(?m)^\\s+up\\s")
        .containsPattern("(?m)^\\s+version\\s");
  }

  /**
   * {@code up} starts the CA too: on ports the kernel picks (port 0; the test reads them from
   * {@code /status}) rather than 15012 and 8443, and with its directory in the test's temporary
   * directory rather than {@code ./meshguard-data/ca}.
   */
  private ProcessBuilder withCa(ProcessBuilder builder) {
    builder.environment().put("MESHGUARD_CA_PORT", "0");
    builder.environment().put("MESHGUARD_CA_BUNDLE_PORT", "0");
    builder.environment().put("MESHGUARD_CA_DIR", tmp.resolve("ca").toString());
    // From the checkout's root the authz server starts too (policies/authz): not on 9191 and 9192.
    builder.environment().put("MESHGUARD_AUTHZ_PORT", "0");
    builder.environment().put("MESHGUARD_AUTHZ_HTTP_PORT", "0");
    return builder;
  }
}

package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with a proxy we did not write: a real nginx (Debian's package, {@code auth_request}
 * module) started with a generated config in a temporary directory, asking meshguard's HTTP
 * service mode about every request before proxying it to a tiny upstream (a second nginx server
 * block). Real HTTP requests go through nginx; real policies decide.
 */
@Tag("e2e")
class NginxAuthRequestIT {

  static final Path NGINX = Path.of("/usr/sbin/nginx");

  /** Methods and paths, and an identity only nginx may assert (X-Client-Spiffe-Id). */
  static final String POLICIES = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: shop-api, namespace: shop}
      spec:
        action: ALLOW
        rules:
        - to: [{operation: {methods: ["GET", "HEAD"], paths: ["/api/*", "/public"]}}]
        - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
          to: [{operation: {methods: ["POST"], paths: ["/api/orders"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: no-admin, namespace: shop}
      spec:
        action: DENY
        rules:
        - to: [{operation: {paths: ["/api/admin", "/api/admin/*"]}}]
      """;

  @TempDir
  Path dir;

  private AuthzFixture authz;
  private Process nginx;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  @AfterEach
  void stop() throws InterruptedException {
    if (nginx != null) {
      nginx.destroy(); // SIGTERM: nginx's fast shutdown
      if (!nginx.waitFor(10, TimeUnit.SECONDS)) {
        nginx.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (authz != null) {
      authz.close();
    }
    client.close();
  }

  @Test
  void requestsThroughNginxAreAllowedAndDeniedByThePolicies() throws Exception {
    if (!Files.isExecutable(NGINX)) {
      fail("nginx is not installed at " + NGINX + ": apt-get install nginx (the e2e tests drive a real nginx)");
    }
    authz = AuthzFixture.start(dir.resolve("meshguard"), AuthzOptions.builder()
        .defaultNamespace("shop")
        .httpPathPrefix("/authz").httpIdentityHeader("x-client-spiffe-id").trustXfcc(false)
        .headersToAdd(Map.of("x-meshguard-policy", "policy")).build(), POLICIES, null);
    int port = startNginx(authz.server.httpPort());

    HttpResponse<String> allowed = get(port, "GET", "/api/orders?page=2");
    assertThat(allowed.statusCode()).isEqualTo(200);
    assertThat(allowed.body()).isEqualTo("upstream GET /api/orders?page=2 policy=shop/shop-api\n");
    assertThat(allowed.headers().firstValue("x-meshguard-decision-id")).isPresent();

    HttpResponse<String> admin = get(port, "GET", "/api/admin/users");
    assertThat(admin.statusCode()).as("DENY policy").isEqualTo(403);
    assertThat(admin.body()).doesNotContain("upstream");
    String id = admin.headers().firstValue("x-meshguard-decision-id").orElseThrow();
    assertThat(authz.audited).as("nginx passes the decision id on, the audit log has it")
        .anySatisfy(e -> assertThat(e.id()).isEqualTo(id));

    assertThat(get(port, "GET", "/other").statusCode()).as("no ALLOW rule matches").isEqualTo(403);
    assertThat(get(port, "DELETE", "/api/orders").statusCode()).as("method not allowed").isEqualTo(403);
    assertThat(get(port, "HEAD", "/public").statusCode()).isEqualTo(200);

    // POST needs the frontend's identity: nginx asserts it on /frontend/ only, and strips a
    // client-sent X-Client-Spiffe-Id everywhere (proxy_set_header overwrites it).
    assertThat(get(port, "POST", "/api/orders", "X-Client-Spiffe-Id", "spiffe://cluster.local/ns/web/sa/frontend")
        .statusCode()).as("a client cannot claim an identity").isEqualTo(403);
    HttpResponse<String> frontend = get(port, "POST", "/frontend/api/orders");
    assertThat(frontend.statusCode()).isEqualTo(200);
    assertThat(frontend.body()).startsWith("upstream POST /api/orders ");

    // keep-alive to meshguard (upstream keepalive): many requests, one decision each.
    for (int i = 0; i < 20; i++) {
      assertThat(get(port, "GET", "/api/items/" + i).statusCode()).isEqualTo(200);
      assertThat(get(port, "GET", "/api/admin/" + i).statusCode()).isEqualTo(403);
    }
  }

  private HttpResponse<String> get(int port, String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Starts nginx on two free ports and returns the proxy's port. nginx cannot listen on port 0 and
   * say where, so the ports are picked here; when another process took one before nginx bound it,
   * nginx says so and is started again on new ports.
   */
  private int startNginx(int meshguardPort) throws IOException, InterruptedException {
    for (int attempt = 1; ; attempt++) {
      Path prefix = Files.createDirectories(dir.resolve("nginx-" + attempt));
      Integer port = startNginx(prefix, meshguardPort);
      if (port != null) {
        return port;
      }
      if (attempt == 3) {
        fail("nginx found its ports taken 3 times; error.log: " + read(prefix.resolve("error.log")));
      }
    }
  }

  /**
   * Writes the config to {@code prefix}, starts nginx in the foreground, waits until it listens;
   * returns the proxy's port, or null when nginx could not bind a port.
   */
  private Integer startNginx(Path prefix, int meshguardPort) throws IOException, InterruptedException {
    List<Integer> ports = FreePorts.ports(2);
    int port = ports.get(0);
    int upstream = ports.get(1);
    String conf = """
        worker_processes 1;
        pid %1$s/nginx.pid;
        error_log %1$s/error.log info;
        events { worker_connections 256; }
        http {
          access_log %1$s/access.log;
          client_body_temp_path %1$s/client_body;
          proxy_temp_path %1$s/proxy;
          fastcgi_temp_path %1$s/fastcgi;
          uwsgi_temp_path %1$s/uwsgi;
          scgi_temp_path %1$s/scgi;

          upstream meshguard {
            server 127.0.0.1:%2$d;
            keepalive 4;
          }

          # What meshguard decides: the URI the application will see (/frontend/x is proxied as /x).
          map $request_uri $mg_uri {
            ~^/frontend(/.*)$ $1;
            default $request_uri;
          }
          # Stands in for a peer identity nginx established itself (e.g. from a client certificate):
          # requests under /frontend/ come from the frontend. Maps, not "set": the auth subrequest
          # runs the server's rewrite phase again and would see a server-level "set" reset.
          map $request_uri $peer_id {
            ~^/frontend/ "spiffe://cluster.local/ns/web/sa/frontend";
            default "";
          }

          # The application: echoes what reached it. "return" runs before auth_request would, so it
          # lives in a server of its own behind proxy_pass.
          server {
            listen 127.0.0.1:%4$d;
            location / {
              return 200 "upstream $request_method $request_uri policy=$http_x_meshguard_policy\\n";
            }
          }

          server {
            listen 127.0.0.1:%3$d;

            location / {
              auth_request /_meshguard;
              auth_request_set $mg_decision $upstream_http_x_meshguard_decision_id;
              auth_request_set $mg_policy $upstream_http_x_meshguard_policy;
              add_header X-Meshguard-Decision-Id $mg_decision always;
              proxy_set_header X-Meshguard-Policy $mg_policy;
              proxy_pass http://127.0.0.1:%4$d;
            }

            location /frontend/ {
              auth_request /_meshguard;
              auth_request_set $mg_decision $upstream_http_x_meshguard_decision_id;
              add_header X-Meshguard-Decision-Id $mg_decision always;
              proxy_pass http://127.0.0.1:%4$d/;
            }

            location = /_meshguard {
              internal;
              proxy_pass http://meshguard/authz;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_pass_request_body off;
              proxy_set_header Content-Length "";
              proxy_set_header X-Original-URI $mg_uri;
              proxy_set_header X-Original-Method $request_method;
              proxy_set_header X-Forwarded-Host $host;
              proxy_set_header X-Client-Spiffe-Id $peer_id;
            }
          }
        }
        """.formatted(prefix, meshguardPort, port, upstream);
    Path confFile = prefix.resolve("nginx.conf");
    Files.writeString(confFile, conf);
    ProcessBuilder pb = new ProcessBuilder(NGINX.toString(), "-p", prefix.toString(), "-e",
        prefix.resolve("error.log").toString(), "-c", confFile.toString(), "-g", "daemon off;")
        .redirectErrorStream(true).redirectOutput(prefix.resolve("stdout.log").toFile());
    nginx = pb.start();
    // nginx writes its pid file once it has bound every port; one that is taken it tries for 2.5 s,
    // then exits (a taken port answers connects, so they alone would not tell).
    Await.until(Duration.ofSeconds(30), () -> bindFailed(prefix)
        || !nginx.isAlive() || Files.exists(prefix.resolve("nginx.pid")) && listening(port) && listening(upstream),
        () -> "nginx listening on " + port + " and " + upstream + "; error.log: " + read(prefix.resolve("error.log")));
    if (bindFailed(prefix)) {
      nginx.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      return null;
    }
    if (!nginx.isAlive()) {
      throw new AssertionError("nginx exited with " + nginx.exitValue() + ": " + read(prefix.resolve("stdout.log"))
          + read(prefix.resolve("error.log")));
    }
    return port;
  }

  private static boolean bindFailed(Path prefix) {
    return (read(prefix.resolve("error.log")) + read(prefix.resolve("stdout.log"))).contains("Address already in use");
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}

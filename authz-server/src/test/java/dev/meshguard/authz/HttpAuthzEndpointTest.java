package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.audit.AuditEvent;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP service mode over real sockets with the JDK's HttpClient (and raw sockets for what
 * no well-behaved client sends): which request is decided (path prefix, nginx's
 * {@code X-Original-*}, Traefik's {@code X-Forwarded-*}), identity from trusted headers only, and
 * answers that stay in {200, 401, 403} whatever arrives.
 */
class HttpAuthzEndpointTest {

  /** Namespace-wide policies: the HTTP mode knows no destination, the workload is default_namespace. */
  static final String POLICIES = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: api, namespace: shop}
      spec:
        action: ALLOW
        rules:
        - to: [{operation: {methods: ["GET"], paths: ["/api/*"]}}]
        - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
          to: [{operation: {methods: ["POST", "DELETE"], paths: ["/api/*"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-admin, namespace: shop}
      spec:
        action: DENY
        rules:
        - to: [{operation: {paths: ["/api/admin*"]}}]
      """;

  static final String FRONTEND = "spiffe://cluster.local/ns/web/sa/frontend";
  static final String OTHER = "spiffe://cluster.local/ns/web/sa/other";

  @TempDir
  Path dir;

  private AuthzFixture fixture;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  @AfterEach
  void close() {
    if (fixture != null) {
      fixture.close();
    }
    client.close();
  }

  private AuthzFixture start(AuthzOptions.Builder options) throws Exception {
    fixture = AuthzFixture.start(dir, options.defaultNamespace("shop").build(), POLICIES, null);
    return fixture;
  }

  private static AuthzOptions.Builder defaults() {
    return AuthzOptions.builder().headersToAdd(Map.of("x-meshguard-policy", "policy",
        "x-meshguard-principal", "principal")).headersToRemove(List.of("authorization"));
  }

  private HttpResponse<String> send(String method, String target, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fixture.server.httpPort() + target))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void allowIs200WithTheOkHeadersAndDenyIs403WithTheDenyBody() throws Exception {
    start(defaults());
    HttpResponse<String> allow = send("GET", "/authz/api/orders");
    assertThat(allow.statusCode()).isEqualTo(200);
    assertThat(allow.headers().firstValue("x-meshguard-policy")).hasValue("shop/api");
    assertThat(allow.headers().firstValue("x-meshguard-principal")).as("no principal: left out").isEmpty();
    assertThat(allow.headers().firstValue("x-envoy-auth-headers-to-remove")).hasValue("authorization");
    assertThat(allow.headers().firstValue("x-meshguard-decision-id")).hasValueSatisfying(id -> assertThat(id).isNotBlank());

    HttpResponse<String> deny = send("GET", "/authz/api/admin/users");
    assertThat(deny.statusCode()).isEqualTo(403);
    assertThat(deny.body()).isEqualTo("RBAC: access denied");
    String id = deny.headers().firstValue("x-meshguard-decision-id").orElseThrow();
    assertThat(fixture.audited).as("the decision id joins the audit log")
        .anySatisfy(e -> assertThat(e.id()).isEqualTo(id));
    assertThat(send("POST", "/authz/api/orders").statusCode()).as("POST needs the frontend").isEqualTo(403);
  }

  static final String BILLING = """
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: invoices, namespace: billing}
      spec:
        action: ALLOW
        rules:
        - to: [{operation: {methods: ["GET"], paths: ["/invoices/*"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-ledger, namespace: billing}
      spec:
        selector: {matchLabels: {app: ledger}}
        action: DENY
        rules:
        - {}
      """;

  @Test
  void trustedWorkloadHeadersNameTheWorkloadAsContextExtensionsDo() throws Exception {
    fixture = AuthzFixture.start(dir, defaults().defaultNamespace("shop").httpWorkloadHeaders(true).build(),
        POLICIES + BILLING, null);
    HttpResponse<String> billing = send("GET", "/authz/invoices/7", "x-meshguard-namespace", "billing");
    assertThat(billing.statusCode()).isEqualTo(200);
    assertThat(billing.headers().firstValue("x-meshguard-policy")).hasValue("billing/invoices");
    assertThat(send("GET", "/authz/api/orders", "x-meshguard-namespace", "billing").statusCode())
        .as("billing's policies, not shop's").isEqualTo(403);
    assertThat(send("GET", "/authz/invoices/7", "x-meshguard-namespace", "billing", "x-meshguard-labels",
        "app=ledger,tier=db").statusCode()).as("the labels select deny-ledger").isEqualTo(403);
    assertThat(send("GET", "/authz/api/orders").statusCode()).as("no header: default_namespace").isEqualTo(200);
    HttpResponse<String> malformed = send("GET", "/authz/invoices/7", "x-meshguard-namespace", "billing",
        "x-meshguard-labels", "=ledger");
    assertThat(malformed.statusCode()).isEqualTo(403);
    assertThat(reasonOf(malformed)).contains("invalid request");
  }

  @Test
  void workloadHeadersAreIgnoredUnlessTrusted() throws Exception {
    fixture = AuthzFixture.start(dir, defaults().defaultNamespace("shop").build(), POLICIES + BILLING, null);
    assertThat(send("GET", "/authz/invoices/7", "x-meshguard-namespace", "billing").statusCode()).isEqualTo(403);
    HttpResponse<String> shop = send("GET", "/authz/api/orders", "x-meshguard-namespace", "billing");
    assertThat(shop.statusCode()).isEqualTo(200);
    assertThat(shop.headers().firstValue("x-meshguard-policy")).hasValue("shop/api");
  }

  @Test
  void thePathAfterThePrefixIsDecidedWithItsQueryStripped() throws Exception {
    start(defaults());
    assertThat(send("GET", "/authz/api/orders?page=2").statusCode()).isEqualTo(200);
    assertThat(send("GET", "/authz/api/admin?x=/api/orders").statusCode()).isEqualTo(403);
    assertThat(send("GET", "/authz/other").statusCode()).isEqualTo(403);
    // Not under the prefix, and no header names the original request: denied, saying why.
    HttpResponse<String> outside = send("GET", "/authzapi/orders");
    assertThat(outside.statusCode()).isEqualTo(403);
    assertThat(reasonOf(outside)).contains("no original request");
    assertThat(send("GET", "/api/orders").statusCode()).isEqualTo(403);
  }

  @Test
  void anEmptyPrefixDecidesTheWholeRequestLineAsEnvoyWithoutPathPrefixSendsIt() throws Exception {
    start(defaults().httpPathPrefix("").httpIdentityHeader("").trustXfcc(false));
    assertThat(send("GET", "/api/orders").statusCode()).isEqualTo(200);
    assertThat(send("GET", "/authz/api/orders").statusCode()).isEqualTo(403);
  }

  @Test
  void atThePrefixNginxsXOriginalUriAndMethodAreDecided() throws Exception {
    start(defaults());
    assertThat(send("GET", "/authz", "X-Original-URI", "/api/orders?x=1").statusCode()).isEqualTo(200);
    assertThat(send("GET", "/authz", "X-Original-URI", "/api/admin").statusCode()).isEqualTo(403);
    assertThat(send("GET", "/authz", "X-Original-URI", "/api/orders", "X-Original-Method", "DELETE").statusCode())
        .isEqualTo(403);
    // auth_request keeps the client's method when X-Original-Method is not set.
    assertThat(send("DELETE", "/authz", "X-Original-URI", "/api/orders").statusCode()).isEqualTo(403);
    // The request line wins: a client-sent X-Original-URI cannot steer a proxy that puts the path there.
    assertThat(send("GET", "/authz/api/admin", "X-Original-URI", "/api/orders").statusCode()).isEqualTo(403);
    assertThat(send("GET", "/authz", "X-Original-URI", "api/orders").statusCode())
        .as("not a path").isEqualTo(403);
  }

  @Test
  void traefiksXForwardedHeadersAreDecided() throws Exception {
    start(defaults());
    assertThat(send("GET", "/authz", "X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https",
        "X-Forwarded-Host", "shop.example.com", "X-Forwarded-Uri", "/api/orders").statusCode()).isEqualTo(200);
    assertThat(send("GET", "/authz", "X-Forwarded-Method", "DELETE", "X-Forwarded-Uri", "/api/orders").statusCode())
        .isEqualTo(403);
    assertThat(send("GET", "/authz", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/admin").statusCode())
        .isEqualTo(403);
    AuditEvent denied = fixture.audited.getLast();
    assertThat(denied.object().path()).isEqualTo("/api/admin");
  }

  @Test
  void xfccIdentityIsUsedOnlyWhenTrusted() throws Exception {
    String xfcc = "By=spiffe://cluster.local/ns/shop/sa/gateway;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;"
        + "Subject=\"CN=frontend,O=web\";URI=" + FRONTEND + ";DNS=frontend.web.svc";
    start(defaults().httpPathPrefix(AuthzOptions.DEFAULT_HTTP_PATH_PREFIX).httpIdentityHeader("").trustXfcc(true));
    HttpResponse<String> allowed = send("POST", "/authz/api/orders", "x-forwarded-client-cert", xfcc);
    assertThat(allowed.statusCode()).isEqualTo(200);
    assertThat(allowed.headers().firstValue("x-meshguard-principal")).hasValue(FRONTEND);
    // Envoy appends an element per hop: the last one is the client of the proxy that asks.
    assertThat(send("POST", "/authz/api/orders", "x-forwarded-client-cert",
        "URI=" + FRONTEND + ",By=spiffe://cluster.local/ns/shop/sa/gateway;URI=" + OTHER).statusCode()).isEqualTo(403);
    assertThat(send("POST", "/authz/api/orders", "x-forwarded-client-cert",
        "By=x;URI=\"" + OTHER + "\",Hash=1;URI=\"" + FRONTEND + "\"").statusCode()).isEqualTo(200);
    HttpResponse<String> malformed = send("POST", "/authz/api/orders", "x-forwarded-client-cert",
        "URI=\"" + FRONTEND);
    assertThat(malformed.statusCode()).isEqualTo(403);
    assertThat(reasonOf(malformed)).contains("invalid x-forwarded-client-cert");
    fixture.close();

    fixture = null;
    start(defaults());
    assertThat(send("POST", "/authz/api/orders", "x-forwarded-client-cert", xfcc).statusCode())
        .as("XFCC is not trusted unless configured").isEqualTo(403);
  }

  @Test
  void aConfiguredIdentityHeaderIsThePrincipal() throws Exception {
    start(defaults().httpPathPrefix("/authz").httpIdentityHeader("x-client-spiffe-id").trustXfcc(false));
    assertThat(send("DELETE", "/authz/api/orders", "X-Client-Spiffe-Id", FRONTEND).statusCode()).isEqualTo(200);
    assertThat(send("DELETE", "/authz/api/orders", "X-Client-Spiffe-Id", OTHER).statusCode()).isEqualTo(403);
    assertThat(send("DELETE", "/authz/api/orders", "x-forwarded-client-cert", "URI=" + FRONTEND).statusCode())
        .as("XFCC stays untrusted").isEqualTo(403);
  }

  @Test
  void keepAliveAnswersPipelinedRequestsInOrderOnOneConnection() throws Exception {
    start(defaults());
    try (Socket s = connect()) {
      s.getOutputStream().write(("GET /authz/api/a HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /authz/api/admin HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /authz/api/b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      assertThat(readResponse(in).status()).isEqualTo(200);
      assertThat(readResponse(in).status()).isEqualTo(403);
      assertThat(readResponse(in).status()).isEqualTo(200);
    }
  }

  /** Garbage never gets a code outside {200, 401, 403}, nor crashes the port. */
  @Test
  void garbageIsDeniedWith403AndThePortKeepsServing() throws Exception {
    start(defaults());
    List<byte[]> garbage = List.of(
        "GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "GET\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "GET /authz/api/a HTTP/1.1 trailing\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "GET /authz/api/a HTTP/1.1\r\nno colon here\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "GET /authz/api/a HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "G\u00ffT /authz/api/\u00e9 HTTP/1.1\r\nX: \u00ff\u00fe\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1),
        new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03, 0, 0, 13, 10, 13, 10});
    for (byte[] g : garbage) {
      try (Socket s = connect()) {
        s.getOutputStream().write(g);
        s.getOutputStream().flush();
        Response r = readResponse(s.getInputStream());
        assertThat(r.status()).as(new String(g, StandardCharsets.ISO_8859_1)).isIn(403);
        assertThat(r.headers()).containsKey("x-meshguard-decision-id");
      }
    }
    // A broken chunked body after a well-formed head: the head is answered (it is all a decision
    // reads), then the garbage is refused and the connection closed.
    try (Socket s = connect()) {
      s.getOutputStream().write("GET /authz/api/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      assertThat(readResponse(s.getInputStream()).status()).isEqualTo(200);
      assertThat(readResponse(s.getInputStream()).status()).isEqualTo(403);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(send("GET", "/authz/api/orders").statusCode()).isEqualTo(200);
  }

  /**
   * Over the input limits: 403 naming the limit in the audit record, not 414 or 431, which nginx
   * turns into 500 and Envoy passes to the client as a deny it did not decide.
   */
  @Test
  void overTheInputLimitsIs403NamingTheLimit() throws Exception {
    start(defaults().limits(new AuthzOptions.InputLimits(20, 4096, 256, 16 * 1024)));
    HttpResponse<String> bigHeader = send("GET", "/authz/api/orders", "x-big", "a".repeat(8192));
    assertThat(bigHeader.statusCode()).isEqualTo(403);
    assertThat(reasonOf(bigHeader)).contains("max_header_bytes 4096");
    assertThat(fixture.counter("meshguard.authz.input.rejected", "limit", "header_bytes")).isEqualTo(1.0);

    HttpResponse<String> longPath = send("GET", "/authz/api/" + "p".repeat(1000));
    assertThat(longPath.statusCode()).isEqualTo(403);
    assertThat(reasonOf(longPath)).contains("max_path_bytes 256");

    String[] many = new String[2 * 30];
    for (int i = 0; i < 30; i++) {
      many[2 * i] = "x-h" + i;
      many[2 * i + 1] = "v";
    }
    HttpResponse<String> manyHeaders = send("GET", "/authz/api/orders", many);
    assertThat(manyHeaders.statusCode()).isEqualTo(403);
    assertThat(reasonOf(manyHeaders)).contains("over max_headers 20");

    // A body, which no decision reads, over max_request_bytes: the answer comes first (it does not
    // depend on the body), then the connection is closed rather than read to its end.
    try (Socket s = connect()) {
      OutputStream out = s.getOutputStream();
      out.write("POST /authz/api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readResponse(s.getInputStream()).status()).isEqualTo(403);
      boolean closed;
      try {
        out.write(new byte[20_000]);
        out.flush();
        closed = s.getInputStream().read() < 0;
      } catch (java.net.SocketException e) {
        closed = true; // reset: the server closed with our bytes unread
      }
      assertThat(closed).as("closed after max_request_bytes of body").isTrue();
    }
    assertThat(send("GET", "/authz/api/orders").statusCode()).isEqualTo(200);
  }

  @Test
  void aDenyStatusOf401IsAnswered401AndAnyOtherDenyStatus403() throws Exception {
    start(AuthzOptions.builder().port(0).httpPort(0).denyStatus(401).denyBody("who are you"));
    HttpResponse<String> denied = send("GET", "/authz/other");
    assertThat(denied.statusCode()).isEqualTo(401);
    assertThat(denied.body()).isEqualTo("who are you");
    fixture.close();
    fixture = null;
    start(AuthzOptions.builder().port(0).httpPort(0).denyStatus(404).denyBody("gone"));
    HttpResponse<String> notFound = send("GET", "/authz/other");
    assertThat(notFound.statusCode()).as("nginx would make a 404 a 500").isEqualTo(403);
    assertThat(notFound.body()).isEqualTo("gone");
  }

  /** The status mapping, table-driven: only 200, 401 and 403 leave the port. */
  @Test
  void checkResponsesMapOntoTwoHundredFourOhOneOrFourOhThree() {
    record Row(int grpc, StatusCode denied, int http) {}
    for (Row row : List.of(new Row(0, null, 200), new Row(7, StatusCode.Forbidden, 403),
        new Row(16, StatusCode.Unauthorized, 401), new Row(7, StatusCode.NotFound, 403),
        new Row(7, StatusCode.InternalServerError, 403), new Row(7, StatusCode.OK, 403), new Row(7, null, 403))) {
      CheckResponse.Builder b = CheckResponse.newBuilder()
          .setStatus(com.google.rpc.Status.newBuilder().setCode(row.grpc()))
          .setDynamicMetadata(Struct.newBuilder().putFields("decision_id", Value.newBuilder().setStringValue("d1").build()));
      if (row.denied() != null) {
        b.setDeniedResponse(DeniedHttpResponse.newBuilder().setStatus(HttpStatus.newBuilder().setCode(row.denied()))
            .setBody("no").addHeaders(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey("www-authenticate").setValue("Bearer"))));
      }
      HttpCheckRequests.Answer a = HttpCheckRequests.answer(b.build());
      assertThat(a.status()).as(row.toString()).isEqualTo(row.http());
      assertThat(a.headers()).contains(Map.entry("x-meshguard-decision-id", "d1"));
      if (row.http() == 401) {
        assertThat(a.headers()).contains(Map.entry("www-authenticate", "Bearer"));
      }
    }
  }

  @Test
  void xfccParsingFollowsEnvoysQuoting() {
    assertThat(Xfcc.lastUri("By=a;URI=spiffe://td/ns/a/sa/b")).isEqualTo("spiffe://td/ns/a/sa/b");
    assertThat(Xfcc.lastUri("Subject=\"CN=x, O=\\\"q\\\";=\";URI=u1,URI=u2;uri=u3")).isEqualTo("u2");
    assertThat(Xfcc.lastUri("Hash=abc")).isNull();
    for (String bad : List.of("", "URI", "URI=\"x", "=x", "URI=a;;URI=b", "URI=a,")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> Xfcc.lastUri(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** The audited reason of the decision whose id {@code response} carries. */
  private String reasonOf(HttpResponse<String> response) {
    String id = response.headers().firstValue("x-meshguard-decision-id").orElseThrow();
    return fixture.audited.stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow().reason();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", fixture.server.httpPort()), 10_000);
    s.setSoTimeout(20_000);
    return s;
  }

  record Response(int status, Map<String, String> headers, String body) {}

  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3}) .*");

  /** One response with a Content-Length body, as this server always sends. */
  static Response readResponse(InputStream in) throws IOException {
    String line = readLine(in);
    Matcher m = STATUS.matcher(line);
    assertThat(m.matches()).as("status line: " + line).isTrue();
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    for (String h = readLine(in); !h.isEmpty(); h = readLine(in)) {
      int colon = h.indexOf(':');
      headers.put(h.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT), h.substring(colon + 1).trim());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    return new Response(Integer.parseInt(m.group(1)), headers, new String(body, StandardCharsets.UTF_8));
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed mid-response after " + line);
      }
      if (c != '\r') {
        line.write(c);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }
}

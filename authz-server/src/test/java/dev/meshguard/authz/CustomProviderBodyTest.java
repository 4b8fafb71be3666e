package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpServer;
import dev.meshguard.core.server.GrpcServer;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The request body CUSTOM providers get, per Istio's {@code includeRequestBodyInCheck}
 * ({@code maxRequestBytes}, {@code allowPartialMessage}, {@code packAsBytes}), which istiod turns
 * into Envoy's ext_authz {@code with_request_body}. Expected values follow Istio's field
 * documentation (istio/api {@code mesh/v1alpha1/config.proto}: a longer body without
 * {@code allowPartialMessage} is a 413 that takes precedence over {@code failOpen}; with it, a
 * cut body and {@code x-envoy-auth-partial-body: true}; {@code packAsBytes} puts the body in
 * {@code raw_body} for gRPC and does nothing for HTTP) and Envoy's HTTP client
 * ({@code ext_authz_http_impl.cc}: the body with its Content-Length, otherwise Content-Length 0;
 * request headers, the partial-body one included, only through {@code allowed_headers}).
 */
class CustomProviderBodyTest {

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  /** What the HTTP provider received. */
  record Received(String contentLength, String body, String partialHeader) {}

  private HttpServer httpProvider(List<Received> received) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      received.add(new Received(exchange.getRequestHeaders().getFirst("content-length"),
          new String(body, StandardCharsets.UTF_8), exchange.getRequestHeaders().getFirst("x-envoy-auth-partial-body")));
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    closing.add(() -> server.stop(0));
    return server;
  }

  private GrpcServer grpcProvider(List<CheckRequest> received) throws Exception {
    GrpcServer server = GrpcServer.builder().port(0).addService(new AuthorizationGrpc.AuthorizationImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
        received.add(request);
        observer.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(0)).build());
        observer.onCompleted();
      }
    }).start();
    closing.add(server);
    return server;
  }

  private AuthzFixture meshguard(String name, String provider) throws Exception {
    Path home = Files.createDirectories(dir.resolve(name));
    AuthzOptions options = AuthzOptions.builder().meshConfig(Files.writeString(home.resolve("mesh.yaml"), """
        extensionProviders:
        - name: ext
        """ + provider.indent(2))).build();
    AuthzFixture f = AuthzFixture.start(home, options, CustomProviderTest.customPolicies("ext"), null);
    closing.add(f);
    return f;
  }

  /** A POST to a CUSTOM path as Envoy sends it with {@code with_request_body}: body and the partial flag. */
  private static CheckRequest post(String body, String envoyPartial) {
    EnvoyCheckRequests.Builder b = EnvoyCheckRequests.http("POST", "/orders").workload("shop", "app=orders");
    if (envoyPartial != null) {
      b.header("x-envoy-auth-partial-body", envoyPartial);
    }
    CheckRequest.Builder r = b.build().toBuilder();
    r.getAttributesBuilder().getRequestBuilder().getHttpBuilder().setBody(body);
    return r.build();
  }

  private static CheckRequest postRaw(byte[] body) {
    CheckRequest.Builder r = EnvoyCheckRequests.http("POST", "/orders").workload("shop", "app=orders").build()
        .toBuilder();
    r.getAttributesBuilder().getRequestBuilder().getHttpBuilder().setRawBody(ByteString.copyFrom(body));
    return r.build();
  }

  @Test
  void http_partialMessagesAreCutToMaxRequestBytesAndFlagged() throws Exception {
    List<Received> received = new CopyOnWriteArrayList<>();
    HttpServer provider = httpProvider(received);
    AuthzFixture a = meshguard("a", """
        envoyExtAuthzHttp:
          service: 127.0.0.1
          port: %d
          timeout: 30s
          includeRequestHeadersInCheck: [x-envoy-auth-partial-body]
          includeRequestBodyInCheck: {maxRequestBytes: 8, allowPartialMessage: true, packAsBytes: true}
        """.formatted(provider.getAddress().getPort()));

    assertThat(a.stub.check(post("0123456789abc", null)).getStatus().getCode()).isZero();
    assertThat(a.stub.check(post("short", null)).getStatus().getCode()).isZero();
    assertThat(a.stub.check(post("", null)).getStatus().getCode()).isZero();
    // Bytes Envoy packed into raw_body reach an HTTP provider as the body all the same.
    assertThat(a.stub.check(postRaw("raw".getBytes(StandardCharsets.UTF_8))).getStatus().getCode()).isZero();
    // meshguard's own Envoy already cut this one: the provider is told so.
    assertThat(a.stub.check(post("cut", "true")).getStatus().getCode()).isZero();

    assertThat(received).containsExactly(
        new Received("8", "01234567", "true"),
        new Received("5", "short", "false"),
        new Received("0", "", "false"),
        new Received("3", "raw", "false"),
        new Received("3", "cut", "true"));
  }

  @Test
  void http_aBodyOverMaxRequestBytesWithoutPartialMessagesIs413AndTheProviderIsNotAsked() throws Exception {
    List<Received> received = new CopyOnWriteArrayList<>();
    HttpServer provider = httpProvider(received);
    AuthzFixture a = meshguard("a", """
        envoyExtAuthzHttp:
          service: 127.0.0.1
          port: %d
          timeout: 30s
          failOpen: true
          includeRequestBodyInCheck: {maxRequestBytes: 8}
        """.formatted(provider.getAddress().getPort()));

    CheckResponse tooLarge = a.stub.check(post("0123456789abc", null));
    assertThat(tooLarge.getStatus().getCode()).as("413 wins over failOpen").isEqualTo(AuthzService.PERMISSION_DENIED);
    assertThat(tooLarge.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.PayloadTooLarge);
    CheckResponse cutByEnvoy = a.stub.check(post("cut", "true"));
    assertThat(cutByEnvoy.getDeniedResponse().getStatus().getCode())
        .as("a body meshguard's Envoy already cut cannot be given whole: fail closed")
        .isEqualTo(StatusCode.PayloadTooLarge);
    assertThat(a.stub.check(post("fits", null)).getStatus().getCode()).isZero();

    // The partial-body header is not in includeRequestHeadersInCheck: like Envoy, not forwarded.
    assertThat(received).containsExactly(new Received("4", "fits", null));
  }

  @Test
  void http_withoutIncludeRequestBodyInCheckNoBodyIsSent() throws Exception {
    List<Received> received = new CopyOnWriteArrayList<>();
    HttpServer provider = httpProvider(received);
    AuthzFixture a = meshguard("a", """
        envoyExtAuthzHttp:
          service: 127.0.0.1
          port: %d
          timeout: 30s
          includeRequestHeadersInCheck: [x-envoy-auth-partial-body]
        """.formatted(provider.getAddress().getPort()));

    assertThat(a.stub.check(post("a body Envoy sent meshguard", "false")).getStatus().getCode()).isZero();
    assertThat(received).containsExactly(new Received("0", "", null));
  }

  @Test
  void grpc_theBodyGoesInBodyCutToWholeCharactersOrInRawBodyWithPackAsBytes() throws Exception {
    List<CheckRequest> asString = new CopyOnWriteArrayList<>();
    GrpcServer stringProvider = grpcProvider(asString);
    AuthzFixture a = meshguard("a", """
        envoyExtAuthzGrpc:
          service: 127.0.0.1
          port: %d
          timeout: 30s
          includeRequestBodyInCheck: {maxRequestBytes: 2, allowPartialMessage: true}
        """.formatted(stringProvider.port()));
    // "hé": 'h' is one byte, 'é' two (C3 A9); two bytes end inside 'é'.
    assertThat(a.stub.check(post("héllo", null)).getStatus().getCode()).isZero();
    assertThat(a.stub.check(post("ok", null)).getStatus().getCode()).isZero();

    List<CheckRequest> asBytes = new CopyOnWriteArrayList<>();
    GrpcServer bytesProvider = grpcProvider(asBytes);
    AuthzFixture b = meshguard("b", """
        envoyExtAuthzGrpc:
          service: 127.0.0.1
          port: %d
          timeout: 30s
          includeRequestBodyInCheck: {maxRequestBytes: 2, allowPartialMessage: true, packAsBytes: true}
        """.formatted(bytesProvider.port()));
    assertThat(b.stub.check(post("héllo", null)).getStatus().getCode()).isZero();

    assertThat(asString).extracting(r -> http(r).getBody(), r -> http(r).getRawBody(),
            r -> http(r).getHeadersMap().get("x-envoy-auth-partial-body"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("h", ByteString.EMPTY, "true"),
            org.assertj.core.groups.Tuple.tuple("ok", ByteString.EMPTY, "false"));
    assertThat(asBytes).extracting(r -> http(r).getBody(), r -> http(r).getRawBody(),
            r -> http(r).getHeadersMap().get("x-envoy-auth-partial-body"))
        .containsExactly(org.assertj.core.groups.Tuple.tuple("", ByteString.copyFrom(new byte[] {'h', (byte) 0xC3}),
            "true"));
  }

  @Test
  void grpc_withoutIncludeRequestBodyInCheckTheBodyIsNotForwarded() throws Exception {
    List<CheckRequest> received = new CopyOnWriteArrayList<>();
    GrpcServer provider = grpcProvider(received);
    AuthzFixture a = meshguard("a", """
        envoyExtAuthzGrpc: {service: 127.0.0.1, port: %d, timeout: 30s}
        """.formatted(provider.port()));

    assertThat(a.stub.check(post("secret body", "false")).getStatus().getCode()).isZero();
    assertThat(received).singleElement().satisfies(r -> {
      assertThat(http(r).getBody()).isEmpty();
      assertThat(http(r).getRawBody()).isEmpty();
      assertThat(http(r).getHeadersMap()).doesNotContainKey("x-envoy-auth-partial-body")
          .containsEntry(":method", "POST");
    });
  }

  private static AttributeContext.HttpRequest http(CheckRequest r) {
    return r.getAttributes().getRequest().getHttp();
  }
}

package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.claims;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CheckRequests built the way Envoy's ext_authz filter builds them
 * (envoy source/extensions/filters/common/ext_authz/check_request_utils.cc): lower-case header
 * names with pseudo-headers, repeated headers joined with ",", the path with its query, the peer's
 * URI SAN as principal, the URL-encoded certificate when include_peer_certificate is on, no
 * request.http for the network (TCP) filter.
 */
class CheckRequestAttributesTest {

  private static final String CERT = "-----BEGIN%20CERTIFICATE-----%0AMIIBszCCAVmgAwIBAgIU%0A-----END%20CERTIFICATE-----%0A";

  private static Address address(String ip, int port) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)).build();
  }

  private static AttributeContext.Builder sidecarContext() {
    return AttributeContext.newBuilder()
        .setSource(AttributeContext.Peer.newBuilder()
            .setAddress(address("10.0.0.5", 43210))
            .setPrincipal("spiffe://cluster.local/ns/web/sa/frontend")
            .setCertificate(CERT))
        .setDestination(AttributeContext.Peer.newBuilder()
            .setAddress(address("10.0.0.9", 8080))
            .setPrincipal("spiffe://cluster.local/ns/foo/sa/api"))
        .setTlsSession(AttributeContext.TLSSession.newBuilder().setSni("outbound_.8080_._.api.foo.svc.cluster.local"));
  }

  private static AttributeContext.HttpRequest.Builder httpRequest() {
    return AttributeContext.HttpRequest.newBuilder()
        .setId("1234")
        .setMethod("GET")
        .setHost("api.foo:8080")
        .setPath("/items?limit=10#top")
        .setScheme("http")
        .setProtocol("HTTP/1.1")
        .putHeaders(":authority", "api.foo:8080")
        .putHeaders(":method", "GET")
        .putHeaders(":path", "/items?limit=10#top")
        .putHeaders(":scheme", "http")
        .putHeaders("accept", "text/html,application/json")
        .putHeaders("x-forwarded-for", "203.0.113.7, 198.51.100.2")
        .putHeaders("x-forwarded-proto", "http");
  }

  private static CheckRequest check(AttributeContext.Builder context) {
    return CheckRequest.newBuilder().setAttributes(context).build();
  }

  @Test
  void anHttpCheckFromASidecar() throws Exception {
    Struct payload = claims("iss", "https://issuer.example.com", "sub", "alice", "groups", List.of("admins"));
    AttributeContext.Builder context = sidecarContext()
        .setRequest(AttributeContext.Request.newBuilder().setHttp(httpRequest()))
        .putContextExtensions("namespace", "foo")
        .putContextExtensions("labels", "app=api, version=v1")
        .setMetadataContext(Metadata.newBuilder()
            .putFilterMetadata(CheckRequestAttributes.JWT_AUTHN_FILTER, Struct.newBuilder()
                .putFields("https://issuer.example.com", Value.newBuilder().setStructValue(payload).build()).build())
            .putFilterMetadata("envoy.filters.http.rbac", claims("shadow_engine_result", "allowed")));

    RequestAttributes a = CheckRequestAttributes.from(check(context), MeshConfig.DEFAULT);

    assertThat(a.workload()).isEqualTo(new Workload("foo", Map.of("app", "api", "version", "v1")));
    assertThat(a.sourcePrincipal()).isEqualTo("spiffe://cluster.local/ns/web/sa/frontend");
    assertThat(a.sourceIp()).hasToString("10.0.0.5");
    assertThat(a.destinationIp()).hasToString("10.0.0.9");
    assertThat(a.destinationPort()).isEqualTo(8080);
    assertThat(a.sni()).isEqualTo("outbound_.8080_._.api.foo.svc.cluster.local");
    assertThat(a.http().method()).isEqualTo("GET");
    assertThat(a.http().host()).isEqualTo("api.foo:8080");
    assertThat(a.http().path()).isEqualTo("/items?limit=10#top");
    assertThat(a.http().headers()).containsEntry(":authority", "api.foo:8080")
        .containsEntry("accept", "text/html,application/json");
    // A sidecar (use_remote_address: false, no trusted hops) takes the last x-forwarded-for entry.
    assertThat(a.remoteIp()).hasToString("198.51.100.2");
    assertThat(a.jwtPayload()).isEqualTo(payload);
    assertThat(a.filterMetadata()).containsKeys(CheckRequestAttributes.JWT_AUTHN_FILTER, "envoy.filters.http.rbac");

    var engine = engine(allow("foo", "items").selector("app", "api").rule(rule()
        .from(source().principals("cluster.local/ns/web/sa/frontend").remoteIpBlocks("198.51.100.0/24"))
        .to(op().paths("/items").hosts("api.foo:*"))
        .when("request.auth.claims[groups]", "admins")));
    assertThat(engine.evaluate(a, null).policy()).isEqualTo("foo/items");
  }

  @Test
  void trustedProxiesMoveTheClientAddressLeft() throws Exception {
    CheckRequest request = check(sidecarContext().putContextExtensions("namespace", "foo")
        .setRequest(AttributeContext.Request.newBuilder().setHttp(httpRequest())));
    MeshConfig oneHop = new MeshConfig("istio-system", "cluster.local", List.of(), Map.of(), 1);
    MeshConfig twoHops = new MeshConfig("istio-system", "cluster.local", List.of(), Map.of(), 2);
    assertThat(CheckRequestAttributes.from(request, oneHop).remoteIp()).hasToString("203.0.113.7");
    // Fewer entries than trusted hops: Envoy keeps the connection's peer.
    assertThat(CheckRequestAttributes.from(request, twoHops).remoteIp()).hasToString("10.0.0.5");
    assertThat(CheckRequestAttributes.fromXff("not-an-ip", 0)).isEmpty();
    assertThat(CheckRequestAttributes.fromXff("2001:db8::1", 0).orElseThrow()).hasToString("2001:db8::1");
  }

  @Test
  void headerMapIsUsedWhenEnvoySendsRawHeaders() throws Exception {
    AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
        .setMethod("POST").setHost("api").setPath("/upload")
        .setHeaderMap(HeaderMap.newBuilder()
            .addHeaders(HeaderValue.newBuilder().setKey(":authority").setRawValue(bytes("api")))
            .addHeaders(HeaderValue.newBuilder().setKey("x-tag").setRawValue(bytes("a")))
            .addHeaders(HeaderValue.newBuilder().setKey("X-Tag").setRawValue(bytes("b")))
            .addHeaders(HeaderValue.newBuilder().setKey("x-plain").setValue("v")));
    RequestAttributes a = CheckRequestAttributes.from(check(sidecarContext().putContextExtensions("namespace", "foo")
        .setRequest(AttributeContext.Request.newBuilder().setHttp(http))), MeshConfig.DEFAULT);
    assertThat(a.http().headers()).containsEntry("x-tag", "a,b").containsEntry("x-plain", "v")
        .containsEntry(":authority", "api");
    assertThat(a.remoteIp()).hasToString("10.0.0.5");
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  @Test
  void aNetworkFilterCheckHasNoHttpRequest() throws Exception {
    RequestAttributes a = CheckRequestAttributes.from(check(sidecarContext()), MeshConfig.DEFAULT);
    assertThat(a.isHttp()).isFalse();
    assertThat(a.remoteIp()).isEqualTo(a.sourceIp());
    // No context_extensions: the namespace of destination.principal, and no labels.
    assertThat(a.workload()).isEqualTo(new Workload("foo", Map.of()));
  }

  @Test
  void labelsFallBackToDestinationLabels() throws Exception {
    AttributeContext.Builder context = sidecarContext();
    context.getDestinationBuilder().putLabels("app", "api");
    assertThat(CheckRequestAttributes.from(check(context), MeshConfig.DEFAULT).workload())
        .isEqualTo(new Workload("foo", Map.of("app", "api")));
  }

  @Test
  void plaintextAndUnixSocketPeers() throws Exception {
    AttributeContext.Builder context = AttributeContext.newBuilder()
        .setSource(AttributeContext.Peer.newBuilder()
            .setAddress(Address.newBuilder().setPipe(Pipe.newBuilder().setPath("/run/app.sock"))))
        .putContextExtensions("namespace", "foo");
    RequestAttributes a = CheckRequestAttributes.from(check(context), MeshConfig.DEFAULT);
    assertThat(a.sourcePrincipal()).isNull();
    assertThat(a.sourceIp()).isNull();
    assertThat(a.destinationPort()).isEqualTo(-1);
    assertThat(a.sni()).isNull();
  }

  @Test
  void theProtobufJsonFormTheCliReads() throws Exception {
    String json = """
        {"attributes": {
          "source": {"address": {"socketAddress": {"address": "10.0.0.5", "portValue": 5000}},
                     "principal": "spiffe://cluster.local/ns/web/sa/frontend"},
          "destination": {"address": {"socketAddress": {"address": "10.0.0.9", "portValue": 9080}}},
          "request": {"http": {"method": "GET", "host": "reviews", "path": "/reviews/1?x=y",
                               "headers": {":authority": "reviews", "x-user": "jane"}}},
          "contextExtensions": {"namespace": "bookinfo", "labels": "app=reviews"}
        }}""";
    CheckRequest.Builder b = CheckRequest.newBuilder();
    JsonFormat.parser().merge(json, b);
    RequestAttributes a = CheckRequestAttributes.from(b.build(), MeshConfig.DEFAULT);
    assertThat(a.workload()).isEqualTo(new Workload("bookinfo", Map.of("app", "reviews")));
    assertThat(a.destinationPort()).isEqualTo(9080);
    assertThat(a.http().headers()).containsEntry("x-user", "jane");
  }

  @Test
  void malformedPartsAreNamed() {
    assertThatThrownBy(() -> CheckRequestAttributes.from(CheckRequest.getDefaultInstance(), MeshConfig.DEFAULT))
        .isInstanceOfSatisfying(InvalidRequestException.class,
            e -> assertThat(e.part()).isEqualTo("attributes.context_extensions"))
        .hasMessageContaining("workload is unknown");

    AttributeContext.Builder noNamespace = AttributeContext.newBuilder()
        .setDestination(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://cluster.local/workload"));
    assertThatThrownBy(() -> CheckRequestAttributes.from(check(noNamespace), MeshConfig.DEFAULT))
        .hasMessageStartingWith("attributes.destination.principal: no namespace in");

    AttributeContext.Builder badLabels = sidecarContext().putContextExtensions("labels", "app=api,version");
    assertThatThrownBy(() -> CheckRequestAttributes.from(check(badLabels), MeshConfig.DEFAULT))
        .hasMessage("attributes.context_extensions[\"labels\"]: expected k1=v1,k2=v2 but found \"version\" in"
            + " \"app=api,version\"");

    AttributeContext.Builder badAddress = sidecarContext();
    badAddress.getSourceBuilder().setAddress(Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress("frontend.web")));
    assertThatThrownBy(() -> CheckRequestAttributes.from(check(badAddress), MeshConfig.DEFAULT))
        .hasMessage("attributes.source.address.socket_address.address: not an IP address: \"frontend.web\"");

    AttributeContext.Builder badJwt = sidecarContext().setMetadataContext(Metadata.newBuilder()
        .putFilterMetadata(CheckRequestAttributes.JWT_AUTHN_FILTER, claims("payload", "not-an-object")));
    assertThatThrownBy(() -> CheckRequestAttributes.from(check(badJwt), MeshConfig.DEFAULT))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("envoy.filters.http.jwt_authn");
  }
}

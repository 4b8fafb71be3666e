package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Garbage in: random bytes parsed as CheckRequests, and Envoy-shaped requests with odd
 * addresses, invalid UTF-8 in raw headers, huge and strange values, sent over a real socket.
 * The answer is always a successful RPC with a status (a deny for anything malformed) and
 * dynamic metadata; never an RPC error except gRPC's own message-size limit, never a crash.
 */
class GarbageInProperties {

  private static AuthzFixture fixture;

  @BeforeContainer
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("authz-garbage");
    fixture = AuthzFixture.start(dir, AuthzOptions.builder().limits(
        new AuthzOptions.InputLimits(50, 8192, 1024, 64 * 1024)).build());
  }

  @AfterContainer
  static void stop() {
    fixture.close();
  }

  private static void answered(CheckRequest request) {
    try {
      CheckResponse r = fixture.stub.withDeadlineAfter(20, TimeUnit.SECONDS).check(request);
      assertThat(r.getStatus().getCode()).isIn(0, 7);
      assertThat(r.getDynamicMetadata().containsFields("decision_id")).isTrue();
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).as("only gRPC's deliberate size limit: %s", e)
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }
  }

  @Property(tries = 300)
  void randomBytesThatParseAsACheckRequestAreAnswered(@ForAll("bytes") byte[] bytes) {
    CheckRequest request;
    try {
      request = CheckRequest.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return; // not a message: nothing a client could send as one
    }
    answered(request);
  }

  @Provide
  Arbitrary<byte[]> bytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(512);
  }

  @Property(tries = 300)
  void envoyShapedRequestsWithOddFieldsAreAnswered(@ForAll("odd") CheckRequest request) {
    answered(request);
  }

  @Provide
  Arbitrary<CheckRequest> odd() {
    Arbitrary<String> address = Arbitraries.oneOf(Arbitraries.of("10.0.0.1", "::1", "[fe80::1]", "", "999.1.1.1",
        "localhost", "10.0.0.1%eth0", "::ffff:10.0.0.1"), Arbitraries.strings().ofMaxLength(40));
    Arbitrary<String> text = Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(100),
        Arbitraries.strings().withCharRange('\u0000', '\uFFFF').ofMaxLength(30),
        Arbitraries.strings().ofMinLength(1000).ofMaxLength(20_000).withChars('a', '%', '/'));
    Arbitrary<String> principal = Arbitraries.of("", AuthzFixture.FRONTEND, "spiffe://cluster.local/ns//sa/x",
        "spiffe://", "not a uri", "spiffe://cluster.local/ns/shop/sa/orders");
    Arbitrary<Boolean> raw = Arbitraries.of(true, false);
    Arbitrary<byte[]> invalidUtf8 = Arbitraries.bytes().array(byte[].class).ofMaxSize(40);
    return Combinators.combine(address, text, principal, raw, invalidUtf8, text, Arbitraries.of(true, false))
        .as((ip, path, p, rawHeaders, rawValue, value, http) -> {
          EnvoyCheckRequests.Builder b = http ? EnvoyCheckRequests.http(value.length() > 10 ? "GET" : value, path)
              : EnvoyCheckRequests.tcp();
          b.source(ip, 1, p).destination(ip, 70000, p).header("x-forwarded-for", value).header(value, value);
          if (p.isEmpty()) {
            b.contextExtension("namespace", "shop").contextExtension("labels", value);
          }
          if (rawHeaders) {
            b.rawHeaders();
          }
          b.rawCertificateField(value.length() % 3 == 0 ? value : "");
          CheckRequest built = b.build();
          if (rawHeaders && http) {
            // Non-UTF-8 raw header bytes, as Envoy passes them through in header_map.
            CheckRequest.Builder withBytes = built.toBuilder();
            withBytes.getAttributesBuilder().getRequestBuilder().getHttpBuilder().getHeaderMapBuilder()
                .addHeadersBuilder().setKey("x-raw").setRawValue(ByteString.copyFrom(rawValue));
            return withBytes.build();
          }
          return built;
        });
  }

  @Property(tries = 20)
  void requestsOverTheInputLimitsAreDeniedNotFailed(@ForAll("sizes") int size) {
    CheckRequest request = EnvoyCheckRequests.http("GET", "/" + "p".repeat(size)).workload("shop", "app=orders")
        .header("x-big", "v".repeat(size)).build();
    answered(request);
    CheckResponse r = fixture.stub.check(request);
    // max_path_bytes 1024 (the path is "/" + size bytes); max_header_bytes 8192.
    boolean over = size + 1 > 1024 || size > 8000;
    assertThat(r.getStatus().getMessage().startsWith("input limit exceeded")).as("size %d: %s", size,
        r.getStatus().getMessage()).isEqualTo(over);
  }

  @Provide
  Arbitrary<Integer> sizes() {
    return Arbitraries.integers().between(0, 100_000);
  }
}

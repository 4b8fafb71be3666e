package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RequestAuthentication answers over the wire: a real {@link AuthzServer} on a socket,
 * called by a grpc-java client as Envoy calls it. A rejected token is a successful RPC whose
 * status is UNAUTHENTICATED with a 401 denied_response (never an RPC error, which Envoy would
 * treat as an error and fail open under {@code failure_mode_allow}).
 */
class JwtCheckOverGrpcTest {

  static final ECKey KEY = JwtAuthenticationTest.ec("wire-1");

  @TempDir Path dir;

  @Test
  void rejectsAndAllowsOverGrpc() throws Exception {
    String policies = """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: mesh-jwt, namespace: istio-system}
        spec:
          jwtRules:
          - issuer: "https://wire.example"
            jwks: '%s'
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: orders, namespace: shop}
        spec:
          action: ALLOW
          rules:
          - from: [{source: {requestPrincipals: ["https://wire.example/*"]}}]
        """.formatted(new JWKSet(KEY.toPublicJWK()));
    try (AuthzFixture f = AuthzFixture.start(dir, AuthzOptions.DEFAULTS, policies, null)) {
      Instant now = Instant.now();
      JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer("https://wire.example").subject("dave")
          .expirationTime(Date.from(now.plusSeconds(300)));
      String good = JwtAuthenticationTest.sign(KEY, claims.build());
      String expired = JwtAuthenticationTest.sign(KEY, claims.expirationTime(Date.from(now.minusSeconds(3600))).build());

      CheckResponse ok = f.stub.check(EnvoyCheckRequests.http("GET", "/orders").workload("shop", "app=orders")
          .header("authorization", "Bearer " + good).build());
      assertThat(ok.getStatus().getCode()).isZero();
      assertThat(ok.getOkResponse().getHeadersToRemoveList()).containsExactly("authorization");

      CheckResponse rejected = f.stub.check(EnvoyCheckRequests.http("GET", "/orders?x=1").host("shop.example")
          .workload("shop", "app=orders").header("x-forwarded-proto", "https")
          .header("authorization", "Bearer " + expired).build());
      assertThat(rejected.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED.value());
      assertThat(rejected.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(401);
      assertThat(rejected.getDeniedResponse().getBody()).isEqualTo("Jwt is expired");
      assertThat(rejected.getDeniedResponse().getHeaders(0).getHeader().getValue())
          .isEqualTo("Bearer realm=\"https://shop.example/orders?x=1\", error=\"invalid_token\"");
      assertThat(rejected.getDynamicMetadata().getFieldsOrThrow(AuthzService.DECISION_ID).getStringValue())
          .isNotEmpty();
      assertThat(f.audited).last().extracting(e -> e.reason()).isEqualTo(
          "request authentication failed: Jwt is expired");
      assertThat(f.counter("meshguard.authz.jwt.rejected")).isEqualTo(1);

      CheckResponse anonymous = f.stub.check(EnvoyCheckRequests.http("GET", "/orders").workload("shop", "app=orders")
          .build());
      assertThat(anonymous.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED.value());
      assertThat(anonymous.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(403);
    }
  }
}

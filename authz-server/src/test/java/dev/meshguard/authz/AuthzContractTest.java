package dev.meshguard.authz;

import static dev.meshguard.authz.AuthzFixture.BACKUP;
import static dev.meshguard.authz.AuthzFixture.FRONTEND;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ext_authz gRPC contract over a real socket, with CheckRequests as Envoy builds them
 * ({@link EnvoyCheckRequests}): the response shapes Envoy acts on (extauthz.md §1.2).
 */
class AuthzContractTest {

  @TempDir
  Path dir;

  private AuthzFixture fixture;

  @AfterEach
  void close() throws Exception {
    if (fixture != null) {
      fixture.close();
    }
  }

  private AuthzFixture start(AuthzOptions options) throws Exception {
    fixture = AuthzFixture.start(dir, options);
    return fixture;
  }

  private static AuthzOptions withResponses() {
    return AuthzOptions.builder()
        .headersToAdd(Map.of("x-meshguard-principal", "principal", "x-meshguard-tenant", "header:x-tenant"))
        .headersToRemove(List.of("authorization")).metadata(Map.of("tenant", "header:x-tenant")).build();
  }


  private static String meta(CheckResponse r, String key) {
    Value v = r.getDynamicMetadata().getFieldsMap().get(key);
    return v == null ? null : v.getStringValue();
  }

  @Test
  void anAllowIsOkWithOverwritingHeadersHeadersToRemoveAndMetadata() throws Exception {
    start(withResponses());
    CheckResponse r = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders/17?expand=items")
        .principal(FRONTEND).workload("shop", "app=orders").header("x-tenant", "acme")
        .header("Authorization", "Bearer abc").build());

    assertThat(r.getStatus().getCode()).isZero();
    assertThat(r.hasDeniedResponse()).isFalse();
    assertThat(r.getOkResponse().getHeadersList()).extracting(h -> h.getHeader().getKey() + "=" + h.getHeader().getValue())
        .containsExactly("x-meshguard-principal=" + FRONTEND, "x-meshguard-tenant=acme");
    for (HeaderValueOption h : r.getOkResponse().getHeadersList()) {
      @SuppressWarnings("deprecation")
      boolean explicitNoAppend = h.hasAppend() && !h.getAppend().getValue();
      assertThat(explicitNoAppend).as("append=false: Envoy drops append=true headers that are absent").isTrue();
    }
    assertThat(r.getOkResponse().getHeadersToRemoveList()).containsExactly("authorization");
    assertThat(meta(r, "decision_id")).matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    assertThat(meta(r, "policy")).isEqualTo("shop/orders");
    assertThat(meta(r, "tenant")).isEqualTo("acme");
    assertThat(fixture.audited).as("allows are not audited at sample rate 0").isEmpty();
    assertThat(fixture.counter("meshguard.authz.decisions", "outcome", "allow", "policy", "shop/orders")).isEqualTo(1);
  }

  @Test
  void aDenyIsASuccessfulRpcWithPermissionDeniedA403AndTheAuditId() throws Exception {
    start(withResponses());
    CheckResponse r = fixture.stub.check(EnvoyCheckRequests.http("GET", "/admin/users?x=1")
        .principal(FRONTEND).workload("shop", "app=orders").header("x-tenant", "acme").build());

    assertThat(r.getStatus().getCode()).isEqualTo(7);
    assertThat(r.getStatus().getMessage()).contains("shop/deny-admin");
    assertThat(r.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.Forbidden);
    assertThat(r.getDeniedResponse().getBody()).isEqualTo("RBAC: access denied");
    assertThat(r.hasOkResponse()).isFalse();
    assertThat(meta(r, "policy")).isEqualTo("shop/deny-admin");
    assertThat(meta(r, "tenant")).as("configured metadata on denies too").isEqualTo("acme");

    assertThat(fixture.audited).hasSize(1);
    AuditEvent e = fixture.audited.getFirst();
    assertThat(e.id()).isEqualTo(meta(r, "decision_id"));
    assertThat(e.outcome()).isEqualTo("deny");
    assertThat(e.component()).isEqualTo("authz");
    assertThat(e.policy().name()).isEqualTo("shop/deny-admin");
    assertThat(e.policy().revision()).isEqualTo(fixture.server.revision());
    assertThat(e.subject().principal()).isEqualTo(FRONTEND);
    assertThat(e.object().path()).isEqualTo("/admin/users?x=1");
    assertThat(fixture.counter("meshguard.authz.decisions", "outcome", "deny", "policy", "shop/deny-admin"))
        .isEqualTo(1);
  }

  @Test
  void theDenyStatusAndBodyAreConfigurable() throws Exception {
    start(AuthzOptions.builder().port(0).denyStatus(401).denyBody("nope").build());
    CheckResponse r = fixture.stub.check(EnvoyCheckRequests.http("GET", "/admin").workload("shop", "app=orders")
        .build());
    assertThat(r.getDeniedResponse().getStatus().getCode()).isEqualTo(StatusCode.Unauthorized);
    assertThat(r.getDeniedResponse().getBody()).isEqualTo("nope");
  }

  @Test
  void theQueryIsNotPartOfThePathMatchedAndNoAllowMatchDenies() throws Exception {
    start(AuthzOptions.DEFAULTS);
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders?admin=true").principal(FRONTEND)
        .workload("shop", "app=orders"))).isZero();
    CheckResponse anonymous = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders")
        .workload("shop", "app=orders").build());
    assertThat(anonymous.getStatus().getCode()).isEqualTo(7);
    assertThat(meta(anonymous, "policy")).as("no policy decided").isEmpty();
    assertThat(meta(anonymous, "decision_id")).isNotEmpty();
  }

  @Test
  void repeatedHeadersAreCommaJoinedAndHeaderMapIsReadTheSame() throws Exception {
    start(withResponses());
    for (boolean raw : new boolean[] {false, true}) {
      EnvoyCheckRequests.Builder b = EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
          .workload("shop", "app=orders").header("X-Tenant", "a").header("x-tenant", "b");
      if (raw) {
        b.rawHeaders();
      }
      CheckResponse r = fixture.stub.check(b.build());
      assertThat(r.getStatus().getCode()).as("raw=%s", raw).isZero();
      assertThat(meta(r, "tenant")).as("raw=%s", raw).isEqualTo("a,b");
    }
  }

  @Test
  void aTcpCheckHasNoHttpPartsAndIsDecidedWithTcpSemantics() throws Exception {
    start(withResponses());
    // istio-authz-semantics §7: on TCP a DENY rule loses its HTTP-only fields and so widens;
    // deny-admin (paths only) denies every connection to namespace shop.
    CheckResponse backup = fixture.stub.check(EnvoyCheckRequests.tcp().principal(BACKUP)
        .workload("shop", "app=orders").build());
    assertThat(backup.getStatus().getCode()).isEqualTo(7);
    assertThat(meta(backup, "policy")).isEqualTo("shop/deny-admin");
    assertThat(backup.hasDeniedResponse()).as("no HTTP response to shape on a TCP connection").isFalse();

    fixture.rewrite(AuthzFixture.POLICIES.replace("paths: [\"/admin*\"]", "paths: [\"/admin*\"], ports: [\"9999\"]"));
    assertThat(fixture.server.reloadIfChanged()).isTrue();
    CheckResponse allowed = fixture.stub.check(EnvoyCheckRequests.tcp().principal(BACKUP)
        .workload("shop", "app=orders").build());
    assertThat(allowed.getStatus().getCode()).isZero();
    assertThat(allowed.hasOkResponse()).isFalse();
    assertThat(meta(allowed, "policy")).isEqualTo("shop/orders");
    // The frontend's rule needs methods and paths, which a connection does not have: the ALLOW
    // rule is dropped for TCP and nothing else allows.
    CheckResponse frontend = fixture.stub.check(EnvoyCheckRequests.tcp().principal(FRONTEND)
        .workload("shop", "app=orders").build());
    assertThat(frontend.getStatus().getCode()).isEqualTo(7);
  }

  @Test
  void theWorkloadComesFromContextExtensionsThenTheRegistryThenTheDestinationPrincipal() throws Exception {
    Path registry = Files.writeString(dir.resolve("workloads.yaml"), """
        workloads:
          - namespace: shop
            labels: {app: orders}
            service_account: orders
            ips: [10.0.1.5]
          - namespace: other
            ips: ["10.9.0.0/16"]
        """);
    start(AuthzOptions.builder().workloadRegistry(registry).build());

    // Registry by destination.address: shop, app=orders, so the orders ALLOW policy applies.
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .destination("10.0.1.5", 8080, ""))).isZero();
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").destination("10.0.1.5", 8080, ""))).isEqualTo(7);
    // Context extensions win over the registry: namespace other has no policies, so all is allowed.
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").workload("other", "")
        .destination("10.0.1.5", 8080, ""))).isZero();
    // destination.principal: namespace shop without labels: only the namespace-wide DENY applies.
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").destination("10.7.7.7", 8080,
        "spiffe://cluster.local/ns/shop/sa/orders"))).isZero();
    assertThat(check(EnvoyCheckRequests.http("GET", "/admin").destination("10.7.7.7", 8080,
        "spiffe://cluster.local/ns/shop/sa/orders"))).isEqualTo(7);

    CheckResponse unresolved = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders")
        .destination("10.7.7.7", 8080, "").build());
    assertThat(unresolved.getStatus().getCode()).isEqualTo(7);
    assertThat(unresolved.getStatus().getMessage()).startsWith("workload unresolved").contains("10.7.7.7");
    assertThat(unresolved.getDeniedResponse().getBody()).isEqualTo("RBAC: access denied");
    assertThat(fixture.counter("meshguard.authz.workload.resolution.failures")).isEqualTo(1);

    // The registry is re-read when it changes.
    Files.writeString(registry, "workloads: [{namespace: shop, labels: {app: orders}, ips: [\"10.7.0.0/16\"]}]\n");
    fixture.server.reloadIfChanged();
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .destination("10.7.7.7", 8080, ""))).isZero();
  }

  @Test
  void aPeerCertificateMustChainToTheBundleAndMatchSourcePrincipal() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    TestCa stranger = TestCa.create("cluster.local");
    Path bundle = ca.writeBundle(dir.resolve("bundle.pem"));
    start(AuthzOptions.builder().trustBundle(bundle).build());
    TestCert frontend = ca.leaf(FRONTEND).issue();

    assertThat(check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .peerCertificate(frontend.certificate()).workload("shop", "app=orders"))).isZero();

    CheckResponse spoofed = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(BACKUP)
        .peerCertificate(frontend.certificate()).workload("shop", "app=orders").build());
    assertThat(spoofed.getStatus().getCode()).isEqualTo(7);
    assertThat(spoofed.getStatus().getMessage()).contains("is not source.principal");

    CheckResponse foreign = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .peerCertificate(stranger.leaf(FRONTEND).issue().certificate()).workload("shop", "app=orders").build());
    assertThat(foreign.getStatus().getMessage()).contains("does not chain to the trust bundle");

    CheckResponse expired = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .peerCertificate(ca.leaf(FRONTEND).expired().issue().certificate()).workload("shop", "app=orders").build());
    assertThat(expired.getStatus().getCode()).isEqualTo(7);

    CheckResponse garbage = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .rawCertificateField("-----BEGIN%20CERTIFICATE-----%0AAAAA%0A").workload("shop", "app=orders").build());
    assertThat(garbage.getStatus().getCode()).isEqualTo(7);
    assertThat(fixture.counter("meshguard.authz.peer.certificate.rejected")).isEqualTo(4);
  }

  @Test
  void requestsOverAnInputLimitAreDeniedWithTheLimitNamed() throws Exception {
    start(AuthzOptions.builder().limits(new AuthzOptions.InputLimits(20, 4096, 64, 16 * 1024)).build());
    EnvoyCheckRequests.Builder many = EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .workload("shop", "app=orders");
    for (int i = 0; i < 30; i++) {
      many.header("x-h" + i, "v");
    }
    assertThat(fixture.stub.check(many.build()).getStatus().getMessage()).contains("max_headers 20");
    assertThat(fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders/" + "a".repeat(100)).principal(FRONTEND)
        .workload("shop", "app=orders").build()).getStatus().getMessage()).contains("max_path_bytes 64");
    assertThat(fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .workload("shop", "app=orders").header("cookie", "c".repeat(5000)).build()).getStatus().getMessage())
        .contains("max_header_bytes 4096");
    CheckResponse huge = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .workload("shop", "app=orders").rawHeaders().header("x-big", "b".repeat(20_000)).build());
    assertThat(huge.getStatus().getCode()).isEqualTo(7);
    assertThat(huge.getStatus().getMessage()).contains("max_request_bytes");
    assertThat(fixture.counter("meshguard.authz.input.rejected", "limit", "headers")).isEqualTo(1);
  }

  @Test
  void auditMatchesDryRunMismatchesAndSampledAllowsAreAudited() throws Exception {
    start(AuthzOptions.DEFAULTS);
    assertThat(check(EnvoyCheckRequests.http("DELETE", "/orders/3").principal(FRONTEND)
        .workload("shop", "app=orders"))).isZero();
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders/secret").principal(FRONTEND)
        .workload("shop", "app=orders"))).isZero();
    assertThat(check(EnvoyCheckRequests.http("GET", "/orders/plain").principal(FRONTEND)
        .workload("shop", "app=orders"))).isZero();
    assertThat(fixture.audited).hasSize(2);
    assertThat(fixture.audited.get(0).reason()).contains("audit: shop/audit-deletes");
    assertThat(fixture.audited.get(0).outcome()).isEqualTo("allow");
    assertThat(fixture.audited.get(1).reason()).contains("dry-run mismatch: shop/shadow-deny-secret would deny");
  }

  @Test
  void allowsAreAuditedAtTheSampleRate() throws Exception {
    start(AuthzOptions.builder().auditAllowSampleRate(1.0).build());
    CheckResponse r = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .workload("shop", "app=orders").build());
    assertThat(fixture.audited).singleElement().satisfies(e -> {
      assertThat(e.id()).isEqualTo(meta(r, "decision_id"));
      assertThat(e.outcome()).isEqualTo("allow");
      assertThat(e.policy().rule()).isEqualTo("0");
    });
  }

  @Test
  void anInternalErrorDeniesAndIsCountedUnlessFailOpen() throws Exception {
    DecisionAudit broken = event -> {
      throw new IllegalStateException("audit bug");
    };
    for (boolean open : new boolean[] {false, true}) {
      Path d = Files.createDirectories(dir.resolve("open-" + open));
      try (AuthzFixture f = AuthzFixture.start(d, AuthzOptions.builder().failOpen(open).build(), AuthzFixture.POLICIES,
          broken)) {
        CheckResponse r = f.stub.check(EnvoyCheckRequests.http("GET", "/admin").workload("shop", "app=orders")
            .build());
        assertThat(r.getStatus().getCode()).as("fail open %s", open).isEqualTo(open ? 0 : 7);
        if (!open) {
          assertThat(r.getStatus().getMessage()).contains("internal error");
        }
        assertThat(f.counter("meshguard.authz.internal.errors")).isEqualTo(1);
        assertThat(r.getDynamicMetadata().getFieldsMap()).containsKey("decision_id");
      }
    }
  }

  @Test
  void jwtClaimsFromJwtAuthnMetadataFeedHeadersAndMetadata() throws Exception {
    start(AuthzOptions.builder().headersToAdd(Map.of("x-meshguard-tenant", "claim:org.tenant"))
        .metadata(Map.of("tenant", "claim:org.tenant")).build());
    Struct payload = Struct.newBuilder()
        .putFields("iss", Value.newBuilder().setStringValue("https://issuer.example").build())
        .putFields("sub", Value.newBuilder().setStringValue("alice").build())
        .putFields("org", Value.newBuilder().setStructValue(Struct.newBuilder().putFields("tenant",
            Value.newBuilder().setStringValue("gold").build())).build())
        .build();
    CheckResponse r = fixture.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
        .workload("shop", "app=orders")
        .metadata("envoy.filters.http.jwt_authn", Struct.newBuilder().putFields("https://issuer.example",
            Value.newBuilder().setStructValue(payload).build()).build())
        .build());
    assertThat(meta(r, "tenant")).isEqualTo("gold");
    assertThat(r.getOkResponse().getHeaders(0).getHeader().getValue()).isEqualTo("gold");
  }

  private int check(EnvoyCheckRequests.Builder request) {
    return fixture.stub.check(request.build()).getStatus().getCode();
  }
}

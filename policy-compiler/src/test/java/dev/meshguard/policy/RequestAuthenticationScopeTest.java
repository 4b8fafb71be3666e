package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.model.RequestAuthentication;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which RequestAuthentications apply to a workload: the attachment rules istio
 * {@code pilot/pkg/model/policyattachment.go} shares between AuthorizationPolicy and
 * RequestAuthentication (root namespace mesh-wide; own namespace; selector a subset of the labels;
 * targetRefs only for the Gateway-API gateway they name).
 */
class RequestAuthenticationScopeTest {

  private static final String RESOURCES = """
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata: {name: mesh, namespace: istio-system}
      spec:
        jwtRules: [{issuer: "https://mesh.example"}]
      ---
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata: {name: orders, namespace: shop}
      spec:
        selector: {matchLabels: {app: orders}}
        jwtRules: [{issuer: "https://orders.example"}]
      ---
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata: {name: all-shop, namespace: shop}
      spec:
        jwtRules: [{issuer: "https://shop.example"}]
      ---
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata: {name: gw, namespace: shop}
      spec:
        targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: shop-gw}]
        jwtRules: [{issuer: "https://gw.example"}]
      """;

  private static List<String> names(PolicyEngine engine, Workload w) {
    return engine.requestAuthentications(w).stream().map(RequestAuthentication::ref).toList();
  }

  @Test
  void scopesLikeAuthorizationPolicies() throws Exception {
    PolicyEngine engine = PolicyEngine.compile(PolicyLoader.parse("ra.yaml", RESOURCES), MeshConfig.DEFAULT);
    assertThat(engine.hasRequestAuthentications()).isTrue();
    assertThat(engine.requestAuthentications()).extracting(RequestAuthentication::ref)
        .containsExactly("istio-system/mesh", "shop/all-shop", "shop/gw", "shop/orders");
    assertThat(names(engine, new Workload("shop", Map.of("app", "orders"))))
        .containsExactly("istio-system/mesh", "shop/all-shop", "shop/orders");
    assertThat(names(engine, new Workload("shop", Map.of("app", "cart"))))
        .containsExactly("istio-system/mesh", "shop/all-shop");
    assertThat(names(engine, new Workload("web", Map.of("app", "orders"))))
        .containsExactly("istio-system/mesh");
    assertThat(names(engine, new Workload("shop", Map.of(Workload.GATEWAY_NAME_LABEL, "shop-gw"))))
        .containsExactly("istio-system/mesh", "shop/all-shop", "shop/gw");
    assertThat(names(engine, new Workload("shop", Map.of(Workload.GATEWAY_NAME_LABEL, "other-gw"))))
        .containsExactly("istio-system/mesh", "shop/all-shop");
  }

  @Test
  void noneLoaded() throws Exception {
    PolicyEngine engine = PolicyEngine.compile(PolicyLoader.parse("empty.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: a, namespace: shop}
        spec: {}
        """), MeshConfig.DEFAULT);
    assertThat(engine.hasRequestAuthentications()).isFalse();
    assertThat(engine.requestAuthentications(new Workload("shop", Map.of()))).isEmpty();
  }
}

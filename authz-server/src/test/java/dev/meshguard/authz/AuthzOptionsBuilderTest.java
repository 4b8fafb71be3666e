package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.tls.DecisionTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The builder carries every component through, and validation stays in the record's constructor. */
class AuthzOptionsBuilderTest {

  /**
   * Every component differs from its default and from the other components of its type, so a
   * setter, a {@code toBuilder()} copy or a {@code build()} argument wired to the wrong field fails.
   */
  private static final AuthzOptions ALL_SET = new AuthzOptions(List.of(Path.of("a"), Path.of("b")),
      Path.of("mesh.yaml"), "0.0.0.0", 1001, 1002, Duration.ofSeconds(3), Path.of("registry.yaml"), "shop", 401,
      "nope", true, Map.of("x-a", "principal"), List.of("authorization"), Map.of("tenant", "header:x-tenant"), 0.5,
      Path.of("trust.pem"), new AuthzOptions.InputLimits(10, 2000, 300, 4096),
      new DecisionTls(Path.of("cert.pem"), Path.of("key.pem"), Path.of("peers.pem"), List.of("spiffe://td/*")),
      true, "/check", "x-peer", true, true, "https://bundles.example/b.zip", Path.of("bundle.pub.pem"),
      Duration.ofMinutes(7), Path.of("bundle-ca.pem"), true,
      JwtOptions.DEFAULTS.withJwksTimeout(Duration.ofSeconds(9)), Map.of("ext", ProviderTls.DEFAULTS));

  @Test
  void eachSetterSetsItsOwnComponent() {
    AuthzOptions built = AuthzOptions.builder()
        .policies(List.of(Path.of("a"), Path.of("b")))
        .meshConfig(Path.of("mesh.yaml"))
        .host("0.0.0.0")
        .port(1001)
        .httpPort(1002)
        .reloadInterval(Duration.ofSeconds(3))
        .workloadRegistry(Path.of("registry.yaml"))
        .defaultNamespace("shop")
        .denyStatus(401)
        .denyBody("nope")
        .failOpen(true)
        .headersToAdd(Map.of("x-a", "principal"))
        .headersToRemove(List.of("authorization"))
        .metadata(Map.of("tenant", "header:x-tenant"))
        .auditAllowSampleRate(0.5)
        .trustBundle(Path.of("trust.pem"))
        .limits(new AuthzOptions.InputLimits(10, 2000, 300, 4096))
        .tls(new DecisionTls(Path.of("cert.pem"), Path.of("key.pem"), Path.of("peers.pem"), List.of("spiffe://td/*")))
        .startWithoutPolicies(true)
        .httpPathPrefix("/check")
        .httpIdentityHeader("x-peer")
        .trustXfcc(true)
        .httpWorkloadHeaders(true)
        .bundle("https://bundles.example/b.zip")
        .bundleKey(Path.of("bundle.pub.pem"))
        .bundlePollInterval(Duration.ofMinutes(7))
        .bundleCa(Path.of("bundle-ca.pem"))
        .bundleAllowHttp(true)
        .jwt(JwtOptions.DEFAULTS.withJwksTimeout(Duration.ofSeconds(9)))
        .customProviderTls(Map.of("ext", ProviderTls.DEFAULTS))
        .build();
    assertThat(built).isEqualTo(ALL_SET);
  }

  @Test
  void toBuilderCopiesEveryComponent() {
    assertThat(ALL_SET.toBuilder().build()).isEqualTo(ALL_SET);
    assertThat(ALL_SET.toBuilder().port(0).build()).isEqualTo(new AuthzOptions(ALL_SET.policies(),
        ALL_SET.meshConfig(), ALL_SET.host(), 0, ALL_SET.httpPort(), ALL_SET.reloadInterval(),
        ALL_SET.workloadRegistry(), ALL_SET.defaultNamespace(), ALL_SET.denyStatus(), ALL_SET.denyBody(),
        ALL_SET.failOpen(), ALL_SET.headersToAdd(), ALL_SET.headersToRemove(), ALL_SET.metadata(),
        ALL_SET.auditAllowSampleRate(), ALL_SET.trustBundle(), ALL_SET.limits(), ALL_SET.tls(),
        ALL_SET.startWithoutPolicies(), ALL_SET.httpPathPrefix(), ALL_SET.httpIdentityHeader(), ALL_SET.trustXfcc(),
        ALL_SET.httpWorkloadHeaders(), ALL_SET.bundle(), ALL_SET.bundleKey(), ALL_SET.bundlePollInterval(),
        ALL_SET.bundleCa(), ALL_SET.bundleAllowHttp(), ALL_SET.jwt(), ALL_SET.customProviderTls()));
  }

  @Test
  void theBuilderStartsAtTheDocumentedDefaults() {
    AuthzOptions d = AuthzOptions.builder().build();
    assertThat(d).isEqualTo(AuthzOptions.DEFAULTS);
    assertThat(d.policies()).containsExactly(Path.of("policies", "authz"));
    assertThat(d.host()).isEqualTo("127.0.0.1");
    assertThat(d.port()).isEqualTo(9191);
    assertThat(d.httpPort()).isEqualTo(9192);
    assertThat(d.reloadInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(d.denyStatus()).isEqualTo(403);
    assertThat(d.denyBody()).isEqualTo("RBAC: access denied");
    assertThat(d.httpPathPrefix()).isEqualTo("/authz");
    assertThat(d.bundlePollInterval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(d.limits()).isEqualTo(AuthzOptions.InputLimits.DEFAULTS);
    assertThat(d.jwt()).isEqualTo(JwtOptions.DEFAULTS);
    assertThat(d.customProviderTls()).isEmpty();
    assertThat(d.bundle()).isNull();
    assertThat(d.tls()).isNull();
  }

  @Test
  void buildValidatesAndNormalisesThroughTheRecordConstructor() {
    assertThatThrownBy(() -> AuthzOptions.builder().httpPort(-2).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("httpPort");
    assertThatThrownBy(() -> AuthzOptions.builder().policies(List.of()).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("policies");
    AuthzOptions normalised = AuthzOptions.builder().httpPathPrefix("/authz/").httpIdentityHeader("X-Peer")
        .bundle("  ").build();
    assertThat(normalised.httpPathPrefix()).isEqualTo("/authz");
    assertThat(normalised.httpIdentityHeader()).isEqualTo("x-peer");
    assertThat(normalised.bundle()).isNull();
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.re2j.Pattern;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.RbacEmitter;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy-eval workload: deterministic, in scope as laid out, and convertible for grpc-java. */
class PolicyMixTest {

  @Test
  void sameSeedSamePolicies() {
    assertThat(PolicyMix.policies(100, PolicyMix.Layout.IN_SCOPE, 1))
        .isEqualTo(PolicyMix.policies(100, PolicyMix.Layout.IN_SCOPE, 1));
    assertThat(PolicyMix.requests(64, 100, PolicyMix.Layout.SPREAD, 1))
        .isEqualTo(PolicyMix.requests(64, 100, PolicyMix.Layout.SPREAD, 1));
  }

  @Test
  void inScopeEmitsEveryPolicySpreadOnlyTheWorkloadsShare() {
    int inScope = ruleCount(RbacEmitter.http(PolicyMix.policies(1_000, PolicyMix.Layout.IN_SCOPE, 1), MeshConfig.DEFAULT,
        PolicyMix.WORKLOAD));
    int spread = ruleCount(RbacEmitter.http(PolicyMix.policies(1_000, PolicyMix.Layout.SPREAD, 1), MeshConfig.DEFAULT,
        PolicyMix.WORKLOAD));
    assertThat(inScope).isEqualTo(1_000);
    // ns-0 holds 1,000 / 100 namespaces = ~10 policies, the root namespace 1% of all (10).
    assertThat(spread).isBetween(10, 30);
  }

  @Test
  void templatesBecomeEnvoysRegex() {
    // Envoy uri_template: * is one non-empty segment, ** any characters including '/'.
    Pattern one = Pattern.compile(PolicyMix.templateRegex("/api/svc-1/*/items"));
    assertThat(one.matches("/api/svc-1/x7/items")).isTrue();
    assertThat(one.matches("/api/svc-1//items")).isFalse();
    assertThat(one.matches("/api/svc-1/a/b/items")).isFalse();
    assertThat(one.matches("/api/svc-11/x/items")).isFalse();
    Pattern any = Pattern.compile(PolicyMix.templateRegex("/a/**"));
    assertThat(any.matches("/a/")).isTrue();
    assertThat(any.matches("/a/b/c")).isTrue();
    assertThat(any.matches("/a")).isFalse();
  }

  @Test
  void grpcFormHasNoTemplates() {
    PolicySet set = PolicyMix.policies(200, PolicyMix.Layout.IN_SCOPE, 3);
    List<RBAC> forGrpc = PolicyMix.forGrpc(RbacEmitter.http(set, MeshConfig.DEFAULT, PolicyMix.WORKLOAD));
    assertThat(forGrpc.toString()).doesNotContain("uri_template").contains("safe_regex");
    assertThat(io.grpc.xds.GrpcRbac.of(forGrpc)).isNotNull();
  }

  private static int ruleCount(List<RBAC> filters) {
    return filters.stream().mapToInt(f -> f.getRules().getPoliciesCount()).sum();
  }
}

package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.model.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The order policies are given in changes nothing: not the decisions, not the reasons, not the
 * explanations (grpc-java RbacFilterTest.testOrderIndependenceOfPolicies makes the same point).
 */
class DeterminismTest {

  @Property(tries = 60)
  void policyOrderDoesNotChangeTheProgram(@ForAll("seeds") long seed) throws ConfigException {
    Random random = new Random(seed);
    MeshConfig mesh = Fixtures.mesh("td1", List.of("td2"), Fixtures.grpcProvider("grpc-p"), Fixtures.httpProvider("http-p"));
    List<AuthorizationPolicy> policies = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      policies.add(IndexedEvaluatorPropertyTest.policy(random, i));
    }
    List<AuthorizationPolicy> shuffled = new ArrayList<>(policies);
    Collections.shuffle(shuffled, random);
    PolicyEngine a = PolicyEngine.compile(Fixtures.set(policies), mesh);
    PolicyEngine b = PolicyEngine.compile(Fixtures.set(shuffled), mesh);
    for (int i = 0; i < 30; i++) {
      RequestAttributes request = IndexedEvaluatorPropertyTest.request(random);
      assertThat(b.forWorkload(request.workload()).policies()).isEqualTo(a.forWorkload(request.workload()).policies());
      assertThat(b.evaluate(request, p -> p.startsWith("g"))).isEqualTo(a.evaluate(request, p -> p.startsWith("g")));
      assertThat(b.explain(request, null)).isEqualTo(a.explain(request, null));
    }
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }
}

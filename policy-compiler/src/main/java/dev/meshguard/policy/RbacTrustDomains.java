package dev.meshguard.policy;

import dev.meshguard.core.spiffe.TrustDomainAliases;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * istiod's trust domain bundle as the RBAC emitter applies it to a list of principals: each
 * principal expanded by {@link TrustDomainAliases#expand} (istio/istio
 * {@code pilot/pkg/security/trustdomain/bundle.go}), the evaluator's own rule, so emitted
 * principals and evaluated ones cannot drift apart.
 */
record RbacTrustDomains(TrustDomainAliases aliases) {

  /** @param trustDomains the mesh trust domain first, then its aliases */
  RbacTrustDomains(List<String> trustDomains) {
    this(new TrustDomainAliases(trustDomains.get(0), trustDomains.subList(1, trustDomains.size())));
  }

  static RbacTrustDomains of(MeshConfig mesh) {
    return new RbacTrustDomains(new TrustDomainAliases(mesh.trustDomain(), mesh.trustDomainAliases()));
  }

  List<String> replaceTrustDomainAliases(List<String> principals) {
    List<String> out = new ArrayList<>();
    for (String principal : principals) {
      Set<String> expanded = new LinkedHashSet<>(aliases.expand(principal));
      out.addAll(expanded);
    }
    return out;
  }
}

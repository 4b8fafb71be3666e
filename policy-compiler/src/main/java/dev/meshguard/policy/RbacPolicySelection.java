package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The policies istiod hands its RBAC builder for one workload, split by action (istio/istio
 * {@code pilot/pkg/model/authorization.go} {@code ListAuthorizationPolicies} and
 * {@code policyattachment.go}): those of the root namespace, then those of the workload's own
 * namespace, that select the workload. A policy with targetRefs applies only to a Gateway-API
 * gateway pod whose {@code gateway.networking.k8s.io/gateway-name} label names a referenced
 * Gateway; a selector policy applies when its matchLabels are a subset of the workload's labels.
 * Root-namespace DENY policies are not split off: istiod does so only behind
 * {@code ENABLE_GATEWAY_API_HTTPROUTE_AUTH}, and the decision is the same either way.
 */
final class RbacPolicySelection {
  private static final String GATEWAY_GROUP = "gateway.networking.k8s.io";

  private RbacPolicySelection() {}

  static Map<Action, List<AuthorizationPolicy>> byAction(PolicySet set, MeshConfig mesh, Workload workload) {
    Map<Action, List<AuthorizationPolicy>> out = new EnumMap<>(Action.class);
    for (Action action : Action.values()) {
      out.put(action, new ArrayList<>());
    }
    List<String> namespaces = mesh.rootNamespace().equals(workload.namespace())
        ? List.of(workload.namespace())
        : List.of(mesh.rootNamespace(), workload.namespace());
    for (String namespace : namespaces) {
      for (AuthorizationPolicy policy : set.authorizationPolicies()) {
        if (policy.namespace().equals(namespace) && selects(policy, workload)) {
          out.get(policy.action()).add(policy);
        }
      }
    }
    return out;
  }

  static boolean selects(AuthorizationPolicy policy, Workload workload) {
    if (!policy.targetRefs().isEmpty()) {
      String gateway = workload.labels().get(Workload.GATEWAY_NAME_LABEL);
      if (gateway == null) {
        return false;
      }
      for (TargetRef ref : policy.targetRefs()) {
        if (ref.group().equals(GATEWAY_GROUP) && ref.kind().equals("Gateway") && ref.name().equals(gateway)
            && (ref.namespace().isEmpty() || ref.namespace().equals(policy.namespace()))) {
          return true;
        }
      }
      return false;
    }
    for (Map.Entry<String, String> label : policy.selector().entrySet()) {
      if (!label.getValue().equals(workload.labels().get(label.getKey()))) {
        return false;
      }
    }
    return true;
  }
}

package dev.meshguard.policy.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One {@code AuthorizationPolicy} resource.
 *
 * @param apiVersion {@code security.istio.io/v1}, {@code security.istio.io/v1beta1} or
 *     {@code meshguard.dev/v1}
 * @param namespace {@code metadata.namespace} ({@code default} when absent, as kubectl applies it)
 * @param name {@code metadata.name}
 * @param annotations {@code metadata.annotations}
 * @param dryRun {@code istio.io/dry-run} parsed with Go's strconv.ParseBool
 * @param selector {@code spec.selector.matchLabels}; empty when absent or empty (both select every
 *     workload of the namespace)
 * @param targetRefs {@code spec.targetRef} and {@code spec.targetRefs} together
 * @param action {@code spec.action}, ALLOW when absent
 * @param provider {@code spec.provider.name} for CUSTOM, else null
 * @param rules {@code spec.rules}; empty means "no rules" (an ALLOW policy then matches nothing)
 * @param position where the resource starts
 */
public record AuthorizationPolicy(
    String apiVersion,
    String namespace,
    String name,
    Map<String, String> annotations,
    boolean dryRun,
    Map<String, String> selector,
    List<TargetRef> targetRefs,
    Action action,
    String provider,
    List<Rule> rules,
    Position position) {

  public static final String ISTIO_V1 = "security.istio.io/v1";
  public static final String ISTIO_V1BETA1 = "security.istio.io/v1beta1";
  public static final String MESHGUARD_V1 = "meshguard.dev/v1";

  public AuthorizationPolicy {
    Objects.requireNonNull(apiVersion, "apiVersion");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    annotations = Map.copyOf(annotations);
    selector = Map.copyOf(selector);
    targetRefs = List.copyOf(targetRefs);
    Objects.requireNonNull(action, "action");
    rules = List.copyOf(rules);
    position = position == null ? Position.UNKNOWN : position;
  }

  /** {@code namespace/name}, the way decisions and audit events name a policy. */
  public String ref() {
    return namespace + "/" + name;
  }
}

package dev.meshguard.policy.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One {@code RequestAuthentication} resource: which JWTs a workload accepts. Scope rules are the
 * same as for {@link AuthorizationPolicy} (root namespace, own namespace, selector, targetRefs).
 */
public record RequestAuthentication(
    String apiVersion,
    String namespace,
    String name,
    Map<String, String> selector,
    List<TargetRef> targetRefs,
    List<JwtRule> jwtRules,
    Position position) {

  public RequestAuthentication {
    Objects.requireNonNull(apiVersion, "apiVersion");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    selector = Map.copyOf(selector);
    targetRefs = List.copyOf(targetRefs);
    jwtRules = List.copyOf(jwtRules);
    position = position == null ? Position.UNKNOWN : position;
  }

  public String ref() {
    return namespace + "/" + name;
  }
}

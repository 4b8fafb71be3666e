package dev.meshguard.policy.model;

import java.util.Objects;

/**
 * One entry of {@code spec.targetRef} / {@code spec.targetRefs} (istio/api
 * {@code type/v1beta1/selector.proto} PolicyTargetReference).
 *
 * @param group e.g. {@code gateway.networking.k8s.io}; empty for the core group
 * @param kind e.g. {@code Gateway}, {@code GatewayClass}, {@code Service}, {@code ServiceEntry}
 * @param name the target's name
 * @param namespace must be empty (validation rejects anything else)
 */
public record TargetRef(String group, String kind, String name, String namespace) {
  public TargetRef {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(namespace, "namespace");
  }
}

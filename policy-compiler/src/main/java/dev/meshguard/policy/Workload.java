package dev.meshguard.policy;

import java.util.Map;
import java.util.Objects;

/**
 * The workload a request is addressed to: what selects the policies that apply.
 *
 * @param namespace its namespace
 * @param labels its pod labels; a Gateway-API gateway carries
 *     {@code gateway.networking.k8s.io/gateway-name}, which makes targetRef policies apply to it
 */
public record Workload(String namespace, Map<String, String> labels) {

  /** The label that marks a Gateway-API gateway pod and names its Gateway. */
  public static final String GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

  public Workload {
    Objects.requireNonNull(namespace, "namespace");
    labels = Map.copyOf(labels);
  }
}

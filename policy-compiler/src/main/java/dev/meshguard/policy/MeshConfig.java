package dev.meshguard.policy;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The parts of Istio's MeshConfig the policy semantics depend on.
 *
 * @param rootNamespace {@code rootNamespace}: its policies apply mesh-wide (default {@code istio-system})
 * @param trustDomain {@code trustDomain} (default {@code cluster.local})
 * @param trustDomainAliases {@code trustDomainAliases}
 * @param extensionProviders {@code extensionProviders} of the ext_authz kinds, by name
 * @param numTrustedProxies how many {@code x-forwarded-for} hops to trust when deriving
 *     {@code remote.ip} (0, a sidecar's default: the last entry)
 */
public record MeshConfig(
    String rootNamespace,
    String trustDomain,
    List<String> trustDomainAliases,
    Map<String, ExtensionProvider> extensionProviders,
    int numTrustedProxies) {

  public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

  /** Istio's defaults: root namespace {@code istio-system}, trust domain {@code cluster.local}. */
  public static final MeshConfig DEFAULT =
      new MeshConfig(DEFAULT_ROOT_NAMESPACE, DEFAULT_TRUST_DOMAIN, List.of(), Map.of(), 0);

  public MeshConfig {
    Objects.requireNonNull(rootNamespace, "rootNamespace");
    Objects.requireNonNull(trustDomain, "trustDomain");
    trustDomainAliases = List.copyOf(trustDomainAliases);
    extensionProviders = Map.copyOf(extensionProviders);
    if (numTrustedProxies < 0) {
      throw new IllegalArgumentException("numTrustedProxies must not be negative: " + numTrustedProxies);
    }
  }
}

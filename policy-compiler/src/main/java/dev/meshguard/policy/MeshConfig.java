package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigException;
import java.nio.file.Path;
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

  /**
   * Loads an Istio MeshConfig YAML file ({@code rootNamespace}, {@code trustDomain},
   * {@code trustDomainAliases}, {@code extensionProviders} of types {@code envoyExtAuthzGrpc} and
   * {@code envoyExtAuthzHttp}, {@code defaultConfig.gatewayTopology.numTrustedProxies}), or the
   * {@code istio} ConfigMap that carries it as the string {@code data.mesh}, or the {@code meshConfig}
   * section of Helm values or an IstioOperator ({@code spec.meshConfig}). Fields meshguard does
   * not use are ignored; unset ones take Istio's defaults ({@link #DEFAULT}); an ext_authz provider
   * without a timeout gets 1s.
   *
   * @throws ConfigException with every mistake, each as {@code file:line:column: path: message}
   *     (inside {@code data.mesh}, at the line of the file the mistake is on)
   */
  public static MeshConfig load(Path file) throws ConfigException {
    Objects.requireNonNull(file, "file");
    return MeshConfigReader.load(file);
  }

  /**
   * Parses MeshConfig text as {@link #load} reads a file.
   *
   * @param sourceName the name errors carry; ending in {@code .json} selects JSON
   */
  public static MeshConfig parse(String sourceName, String text) throws ConfigException {
    Objects.requireNonNull(sourceName, "sourceName");
    Objects.requireNonNull(text, "text");
    return MeshConfigReader.parse(sourceName, text);
  }

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

package dev.meshguard.authz;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;

/**
 * A client of one CUSTOM provider ({@code meshConfig.extensionProviders[]} entry). Thread-safe;
 * one per provider configuration, shared by all requests.
 */
sealed interface ProviderClient extends AutoCloseable permits GrpcCustomProvider, HttpCustomProvider {

  /**
   * Asks the provider about {@code request}, blocking the caller for at most the provider's
   * timeout (plus scheduling slack). Never throws: failures are {@link ProviderVerdict.Kind#ERROR}
   * or {@link ProviderVerdict.Kind#TIMEOUT}.
   */
  ProviderVerdict check(CheckRequest request);

  /** Releases connections; calls after this answer {@link ProviderVerdict.Kind#ERROR}. */
  @Override
  void close();

  /** The host part of Istio's {@code [namespace/]host} service reference. */
  static String host(String service) {
    int slash = service.indexOf('/');
    return slash < 0 ? service : service.substring(slash + 1);
  }
}

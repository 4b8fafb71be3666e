package dev.meshguard.policy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One {@code meshConfig.extensionProviders[]} entry of type {@code envoyExtAuthzGrpc} or
 * {@code envoyExtAuthzHttp}: the external authorizer a CUSTOM policy names.
 *
 * @param name the name CUSTOM policies refer to
 * @param grpc true for envoyExtAuthzGrpc, false for envoyExtAuthzHttp
 * @param service host name (or {@code ns/host}) of the provider
 * @param port its port
 * @param timeout the call's timeout (Istio's default is 600s, which no one wants; ours is 1s)
 * @param failOpen true: a provider error allows; false (the default): it denies
 * @param pathPrefix HTTP only: prefix added to the request path
 * @param includeRequestHeadersInCheck HTTP only: headers forwarded to the provider
 */
public record ExtensionProvider(
    String name,
    boolean grpc,
    String service,
    int port,
    Duration timeout,
    boolean failOpen,
    String pathPrefix,
    List<String> includeRequestHeadersInCheck) {

  public ExtensionProvider {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(timeout, "timeout");
    pathPrefix = pathPrefix == null ? "" : pathPrefix;
    includeRequestHeadersInCheck = List.copyOf(includeRequestHeadersInCheck);
  }
}

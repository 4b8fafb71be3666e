package dev.meshguard.ca.server;

import dev.meshguard.core.spiffe.SpiffeId;
import java.util.Objects;

/**
 * An authenticated caller of the Istio CA API.
 *
 * @param id the identity it proved
 * @param method how: {@link Method#CLIENT_CERTIFICATE} (renewal with an SVID of this CA) or
 *     {@link Method#SERVICE_ACCOUNT_TOKEN}
 * @param cluster the cluster whose token it presented; null for a client certificate
 * @param serviceAccount {@code namespace/name} of the token's service account; null for a client certificate
 */
record Caller(SpiffeId id, Method method, String cluster, String serviceAccount) {
  enum Method { CLIENT_CERTIFICATE, SERVICE_ACCOUNT_TOKEN }

  Caller {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(method, "method");
  }

  /** For the audit record: how the caller was authenticated. */
  String describe() {
    return switch (method) {
      case CLIENT_CERTIFICATE -> "client certificate";
      case SERVICE_ACCOUNT_TOKEN -> "service account token of " + serviceAccount + " (cluster " + cluster + ")";
    };
  }

  /** The Kubernetes user name of a token's service account, or null. */
  String kubernetesUser() {
    if (serviceAccount == null) {
      return null;
    }
    int slash = serviceAccount.indexOf('/');
    return TokenCheck.USERNAME_PREFIX + serviceAccount.substring(0, slash) + ":" + serviceAccount.substring(slash + 1);
  }
}

package dev.meshguard.ca.server;

import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Decides who calls the Istio CA API, trying in order what istiod tries
 * ({@code security/pkg/server/ca/authenticate}):
 *
 * <ol>
 *   <li>a client certificate that is an X.509-SVID of this CA's trust domain, verified against
 *       this CA's roots in the TLS handshake (an agent renewing with the SVID it holds);
 *   <li>an {@code authorization: Bearer <token>} header holding a Kubernetes service-account
 *       token, checked by the cluster its {@code ClusterID} metadata names (the primary cluster
 *       without one); {@code system:serviceaccount:<ns>:<sa>} becomes
 *       {@code spiffe://<trust domain>/ns/<ns>/sa/<sa>}.
 * </ol>
 *
 * Every failure is UNAUTHENTICATED with a message naming what was missing or wrong, except a
 * token that could not be checked (UNAVAILABLE: the Kubernetes API is unreachable) and a check
 * that failed on our side (INTERNAL, with the details logged). Immutable and thread-safe.
 */
final class Authenticator {
  private static final Logger LOG = Logger.getLogger(Authenticator.class.getName());
  static final String BEARER = "bearer ";

  private final String trustDomain;
  private final String primaryCluster;
  private final Map<String, TokenValidator> clusters;
  private final Set<String> trustedNodeAccounts;

  /**
   * @param clusters the token validator of each cluster ID
   * @param trustedNodeAccounts service accounts ({@code namespace/name}) that may impersonate
   */
  Authenticator(String trustDomain, String primaryCluster, Map<String, TokenValidator> clusters,
      Set<String> trustedNodeAccounts) {
    this.trustDomain = trustDomain;
    this.primaryCluster = primaryCluster;
    this.clusters = Map.copyOf(clusters);
    this.trustedNodeAccounts = Set.copyOf(trustedNodeAccounts);
  }

  /** What {@link #authenticate} decides. */
  sealed interface Result {}

  record Authenticated(Caller caller) implements Result {}

  record Refused(Denial denial) implements Result {}

  Result authenticate(CallInfo call) {
    String certificateProblem = null;
    if (call.peer() != null) {
      if (call.peer().trustDomain().equals(trustDomain)) {
        return new Authenticated(new Caller(call.peer(), Caller.Method.CLIENT_CERTIFICATE, null, null));
      }
      certificateProblem = "the client certificate's SPIFFE ID " + call.peer() + " is not of trust domain " + trustDomain;
    }
    String authorization = call.authorization();
    if (authorization == null) {
      return unauthenticated((certificateProblem != null ? certificateProblem + ", and the call has no bearer token"
          : "no credentials") + ": present a client certificate issued by this CA, or an authorization header"
          + " \"Bearer <Kubernetes service account token>\"");
    }
    if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
        || authorization.substring(BEARER.length()).isBlank()) {
      return unauthenticated("the authorization header is not \"Bearer <token>\"");
    }
    String token = authorization.substring(BEARER.length()).strip();
    if (token.length() > JwksTokenValidator.MAX_TOKEN_CHARS) {
      return unauthenticated("the bearer token is " + token.length() + " characters long, more than "
          + JwksTokenValidator.MAX_TOKEN_CHARS);
    }
    List<String> ids = call.clusterIds();
    if (ids.size() > 1) {
      return unauthenticated("the call has " + ids.size() + " ClusterID values; send one");
    }
    String cluster = ids.isEmpty() || ids.get(0).isBlank() ? primaryCluster : ids.get(0);
    TokenValidator validator = clusters.get(cluster);
    if (validator == null) {
      return unauthenticated(clusters.isEmpty()
          ? "this CA accepts no service account tokens (ca.authentication.clusters is empty); present a client"
              + " certificate issued by this CA"
          : "unknown cluster \"" + cluster + "\" (ClusterID metadata); this CA checks the tokens of "
              + String.join(", ", clusters.keySet().stream().sorted().toList()));
    }
    TokenCheck check;
    try {
      check = validator.check(token);
    } catch (RuntimeException e) {
      // Validators do not throw; one that does is a bug, answered as one.
      LOG.log(Level.WARNING, "checking a token of cluster " + cluster + " failed unexpectedly", e);
      return new Refused(new Denial(Status.Code.INTERNAL, "internal error while checking the token"));
    }
    return switch (check) {
      case TokenCheck.Valid valid -> serviceAccount(cluster, valid);
      case TokenCheck.Refused refused -> unauthenticated("service account token refused (cluster " + cluster + "): "
          + refused.reason());
      case TokenCheck.Unavailable unavailable -> new Refused(new Denial(Status.Code.UNAVAILABLE,
          "cannot check the service account token now (cluster " + cluster + "): " + unavailable.reason()));
      case TokenCheck.Failed failed -> {
        LOG.warning(() -> "token check of cluster " + cluster + " failed: " + failed.reason());
        yield new Refused(new Denial(Status.Code.INTERNAL, "internal error while checking the token (cluster "
            + cluster + "); the CA's log has the details"));
      }
    };
  }

  private Result serviceAccount(String cluster, TokenCheck.Valid valid) {
    try {
      SpiffeId id = SpiffeId.forServiceAccount(trustDomain, valid.namespace(), valid.serviceAccount());
      return new Authenticated(new Caller(id, Caller.Method.SERVICE_ACCOUNT_TOKEN, cluster,
          valid.namespace() + "/" + valid.serviceAccount()));
    } catch (InvalidSpiffeIdException e) {
      return unauthenticated("the token's service account " + valid.namespace() + "/" + valid.serviceAccount()
          + " makes no valid SPIFFE ID: " + e.getMessage());
    }
  }

  /**
   * The identity a trusted node account asks for with {@code ImpersonatedIdentity} (ztunnel asks
   * for the workloads on its node). Only a caller that authenticated with the token of a
   * configured trusted node account may; istiod also checks that the workload runs on the
   * caller's node, which needs a pod watch this CA does not have yet.
   *
   * @return the identity to issue for, as an {@link Authenticated} of the real caller's method, or a refusal
   */
  Result impersonate(Caller caller, String impersonated) {
    if (caller.method() != Caller.Method.SERVICE_ACCOUNT_TOKEN || !trustedNodeAccounts.contains(caller.serviceAccount())) {
      return new Refused(new Denial(Status.Code.PERMISSION_DENIED, "ImpersonatedIdentity is honoured only for the"
          + " trusted node accounts (ca.authentication.trusted_node_accounts: "
          + (trustedNodeAccounts.isEmpty() ? "none" : String.join(", ", trustedNodeAccounts.stream().sorted().toList()))
          + "); the caller is " + caller.id() + " (" + caller.describe() + ")"));
    }
    SpiffeId id;
    try {
      id = SpiffeId.parse(impersonated);
    } catch (InvalidSpiffeIdException e) {
      return new Refused(new Denial(Status.Code.INVALID_ARGUMENT, "ImpersonatedIdentity is not a valid SPIFFE ID: "
          + e.getMessage()));
    }
    if (!id.trustDomain().equals(trustDomain) || id.isTrustDomainId()) {
      return new Refused(new Denial(Status.Code.INVALID_ARGUMENT, "ImpersonatedIdentity " + id
          + " is not a workload of trust domain " + trustDomain));
    }
    return new Authenticated(new Caller(id, caller.method(), caller.cluster(), caller.serviceAccount()));
  }

  private static Refused unauthenticated(String message) {
    return new Refused(new Denial(Status.Code.UNAUTHENTICATED, message));
  }

  /** For errors and the log: the cluster IDs this authenticator knows, sorted. */
  List<String> clusterIds() {
    return clusters.keySet().stream().sorted().toList();
  }
}

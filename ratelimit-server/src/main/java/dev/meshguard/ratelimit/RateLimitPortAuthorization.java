package dev.meshguard.ratelimit;

import dev.meshguard.core.tls.PeerAuthorizationInterceptor;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.ratelimit.quota.v1.QuotaServiceGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Objects;

/**
 * Who may call what on the rate limit server's gRPC port when it serves TLS. The port carries two
 * audiences: Envoy proxies asking {@code ShouldRateLimit}, and quota admins calling
 * {@code meshguard.quota.v1.QuotaService}, who may hold no certificate at all (a bearer token
 * instead). So the handshake asks for a client certificate without requiring it, the TLS
 * context's own interceptor only refuses certificates that are not valid X.509-SVIDs, and this
 * interceptor decides per service:
 *
 * <ul>
 *   <li>{@code QuotaService}: passed on; {@link QuotaGrpcService} admits a caller whose SPIFFE ID is
 *       a quota admin or who presents the token, and refuses everyone else with its own message;
 *   <li>every other service ({@code ShouldRateLimit}, health, reflection): a
 *       {@link PeerAuthorizationInterceptor} over {@code ratelimit.tls.allowed_peers} with a
 *       certificate required: none is UNAUTHENTICATED, one not on the list PERMISSION_DENIED.
 * </ul>
 */
final class RateLimitPortAuthorization implements ServerInterceptor {

  private final PeerAuthorizationInterceptor decisionPeers;

  RateLimitPortAuthorization(SpiffeIdAllowList allowedPeers) {
    this.decisionPeers = new PeerAuthorizationInterceptor(Objects.requireNonNull(allowedPeers, "allowedPeers"), true);
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    if (QuotaServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    return decisionPeers.interceptCall(call, headers, next);
  }
}

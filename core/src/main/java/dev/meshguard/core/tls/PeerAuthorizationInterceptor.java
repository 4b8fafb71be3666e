package dev.meshguard.core.tls;

import dev.meshguard.core.spiffe.SpiffeId;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Objects;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Enforces a {@link SpiffeIdAllowList} on every call, after the TLS handshake: the handshake only
 * proves the client holds a certificate from the trust bundle; which workloads may call is
 * decided here, where a refusal can carry a gRPC status and a message naming the peer, rather than
 * a TLS alert the client cannot interpret.
 *
 * <ul>
 *   <li>the peer's SPIFFE ID is the one URI SAN of its leaf certificate (see {@link SvidIds});
 *   <li>no client certificate, when one is required → {@code UNAUTHENTICATED};
 *   <li>a certificate that is not a valid X.509-SVID → {@code UNAUTHENTICATED};
 *   <li>a valid SPIFFE ID not on the list → {@code PERMISSION_DENIED} naming the ID;
 *   <li>otherwise the call proceeds with the ID in {@link #PEER_SPIFFE_ID}.
 * </ul>
 *
 * <p>The per-connection work (certificate parsing) is done once per TLS session and cached in
 * the session; calls on the connection then cost a map lookup.
 */
public final class PeerAuthorizationInterceptor implements ServerInterceptor {

  /** The authenticated peer of the current call; null when the call has no client certificate. */
  public static final Context.Key<SpiffeId> PEER_SPIFFE_ID = Context.key("meshguard-peer-spiffe-id");

  private static final String SESSION_VALUE = PeerAuthorizationInterceptor.class.getName() + ".peer";

  private final SpiffeIdAllowList allowList;
  private final boolean peerRequired;

  /**
   * @param allowList the peers allowed; empty allows any peer with a valid SVID
   * @param peerRequired whether calls without a client certificate are refused; they always are
   *     when {@code allowList} is not empty
   */
  public PeerAuthorizationInterceptor(SpiffeIdAllowList allowList, boolean peerRequired) {
    this.allowList = Objects.requireNonNull(allowList, "allowList");
    this.peerRequired = peerRequired || !allowList.isEmpty();
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    Peer peer = peerOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    return switch (peer) {
      case Peer.Authenticated authenticated when allowList.allows(authenticated.id()) ->
          Contexts.interceptCall(Context.current().withValue(PEER_SPIFFE_ID, authenticated.id()), call, headers, next);
      case Peer.Authenticated authenticated ->
          refuse(call, Status.PERMISSION_DENIED.withDescription("peer " + authenticated.id() + " is not allowed"));
      case Peer.Invalid invalid ->
          refuse(call, Status.UNAUTHENTICATED.withDescription("client certificate is not a valid X.509-SVID: " + invalid.reason()));
      case Peer.Absent absent -> peerRequired
          ? refuse(call, Status.UNAUTHENTICATED.withDescription(absent.reason()))
          : next.startCall(call, headers);
    };
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  static Peer peerOf(SSLSession session) {
    if (session == null) {
      return new Peer.Absent("no client certificate: the connection is not TLS");
    }
    // Benign race: two first calls on one connection may both compute and store the same value.
    if (session.getValue(SESSION_VALUE) instanceof Peer cached) {
      return cached;
    }
    Peer peer = computePeer(session);
    session.putValue(SESSION_VALUE, peer);
    return peer;
  }

  private static Peer computePeer(SSLSession session) {
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return new Peer.Absent("no client certificate");
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return new Peer.Absent("no client certificate");
    }
    try {
      return new Peer.Authenticated(SvidIds.of(leaf));
    } catch (CertificateException e) {
      return new Peer.Invalid(e.getMessage());
    }
  }

  /** What a TLS session says about its peer. */
  sealed interface Peer {
    record Authenticated(SpiffeId id) implements Peer {}

    record Invalid(String reason) implements Peer {}

    record Absent(String reason) implements Peer {}
  }
}

package dev.meshguard.policy;

import dev.meshguard.grpcrbac.StubServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One gRPC call inside grpc-java's RBAC envelope, seen two ways: as the {@link ServerCall} and
 * {@link Metadata} grpc-java's {@code GrpcAuthorizationEngine} reads (method, authority, peer
 * certificate, local and remote socket addresses, headers) and as the {@link RequestAttributes}
 * Envoy would hand meshguard for the same call ({@code :method} POST, path {@code /service/method},
 * the peer's SPIFFE URI SAN, source and destination addresses; no XFF, so the remote IP is the
 * peer's; no SNI and no JWT, which grpc-java cannot see either).
 *
 * @param fullMethod {@code service/method}, e.g. {@code pkg.Svc/Get}
 * @param authority the {@code :authority}
 * @param peer the client certificate, or null for plaintext
 * @param peerSpiffeId its URI SAN, or null for plaintext
 * @param remote the peer's address
 * @param local the address the call reached
 * @param headers custom request headers, lower-case names, one value each
 */
record GrpcCall(String fullMethod, String authority, X509Certificate peer, String peerSpiffeId,
    InetSocketAddress remote, InetSocketAddress local, Map<String, String> headers) {

  GrpcCall {
    Objects.requireNonNull(fullMethod, "fullMethod");
    Objects.requireNonNull(authority, "authority");
    if ((peer == null) != (peerSpiffeId == null)) {
      throw new IllegalArgumentException("peer and peerSpiffeId go together");
    }
    headers = Map.copyOf(headers);
  }

  /** The request headers as gRPC metadata. */
  Metadata metadata() {
    return StubServerCall.metadata(new TreeMap<>(headers));
  }

  /** The server call grpc-java's engine inspects (only its descriptor, authority and attributes). */
  ServerCall<Object, Object> serverCall() {
    return new StubServerCall(fullMethod, authority, peer, remote, local);
  }

  /** What Envoy would tell meshguard about the same call, for {@code workload}. */
  RequestAttributes attributes(Workload workload) {
    Map<String, String> envoyHeaders = new HashMap<>(headers);
    envoyHeaders.put(":authority", authority);
    envoyHeaders.put(":method", "POST");
    envoyHeaders.put(":path", "/" + fullMethod);
    IpAddress source = IpAddress.parse(remote.getAddress().getHostAddress()).orElseThrow();
    IpAddress destination = IpAddress.parse(local.getAddress().getHostAddress()).orElseThrow();
    return new RequestAttributes(workload, peerSpiffeId, source, source, destination, local.getPort(), null,
        new HttpAttributes("POST", authority, "/" + fullMethod, envoyHeaders), null, Map.of());
  }

  @Override
  public String toString() {
    return "POST /" + fullMethod + " authority=" + authority + " peer=" + (peerSpiffeId == null ? "plaintext" : peerSpiffeId)
        + " from=" + remote.getAddress().getHostAddress() + " to=" + local.getAddress().getHostAddress() + ":"
        + local.getPort() + " headers=" + new TreeMap<>(headers);
  }
}

package dev.meshguard.ca.server;

import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.tls.PeerAuthorizationInterceptor;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * What the Istio CA API needs to know about a call besides its request message: the peer's
 * SPIFFE ID from its client certificate (set by core's {@link PeerAuthorizationInterceptor},
 * which runs first), the {@code authorization} header, the {@code clusterid} header(s) (istio-agent
 * sends {@code ClusterID}; gRPC lower-cases header names) and the peer's address.
 *
 * @param peer the SPIFFE ID of a verified client certificate, or null
 * @param authorization the {@code authorization} header, or null
 * @param clusterIds every {@code clusterid} value
 * @param address the peer's IP address, or null
 */
record CallInfo(SpiffeId peer, String authorization, List<String> clusterIds, String address) {
  static final Context.Key<CallInfo> KEY = Context.key("meshguard-ca-call");
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> CLUSTER_ID = Metadata.Key.of("clusterid", Metadata.ASCII_STRING_MARSHALLER);

  CallInfo {
    clusterIds = List.copyOf(clusterIds);
  }

  /** The interceptor that puts a {@link CallInfo} into every call's context. */
  static ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
          ServerCallHandler<ReqT, RespT> next) {
        List<String> clusters = new ArrayList<>();
        Iterable<String> values = headers.getAll(CLUSTER_ID);
        if (values != null) {
          values.forEach(clusters::add);
        }
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        String address = remote instanceof InetSocketAddress inet && inet.getAddress() != null
            ? inet.getAddress().getHostAddress() : null;
        CallInfo info = new CallInfo(PeerAuthorizationInterceptor.PEER_SPIFFE_ID.get(), headers.get(AUTHORIZATION),
            clusters, address);
        return Contexts.interceptCall(Context.current().withValue(KEY, info), call, headers, next);
      }
    };
  }
}

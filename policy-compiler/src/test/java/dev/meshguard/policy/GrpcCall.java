package dev.meshguard.policy;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.security.Principal;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

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

  private static final MethodDescriptor.Marshaller<Object> NO_MARSHALLER = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(Object value) {
      return new ByteArrayInputStream(new byte[0]);
    }

    @Override
    public Object parse(InputStream stream) {
      return new Object();
    }
  };

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
    Metadata metadata = new Metadata();
    new TreeMap<>(headers).forEach((name, value) ->
        metadata.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), value));
    return metadata;
  }

  /** The server call grpc-java's engine inspects (only its descriptor, authority and attributes). */
  ServerCall<Object, Object> serverCall() {
    Attributes.Builder attributes = Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, remote)
        .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local);
    if (peer != null) {
      attributes.set(Grpc.TRANSPORT_ATTR_SSL_SESSION, new PeerSession(peer));
    }
    Attributes built = attributes.build();
    MethodDescriptor<Object, Object> method = MethodDescriptor.<Object, Object>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullMethod)
        .setRequestMarshaller(NO_MARSHALLER)
        .setResponseMarshaller(NO_MARSHALLER)
        .build();
    String callAuthority = authority;
    return new ServerCall<>() {
      @Override
      public void request(int numMessages) {}

      @Override
      public void sendHeaders(Metadata headers) {}

      @Override
      public void sendMessage(Object message) {}

      @Override
      public void close(Status status, Metadata trailers) {}

      @Override
      public boolean isCancelled() {
        return false;
      }

      @Override
      public MethodDescriptor<Object, Object> getMethodDescriptor() {
        return method;
      }

      @Override
      public Attributes getAttributes() {
        return built;
      }

      @Override
      public String getAuthority() {
        return callAuthority;
      }
    };
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

  /**
   * An established TLS session as grpc-java's engine sees it: only the peer's certificate chain is
   * read ({@code getPeerCertificates}); nothing else of a session matters to RBAC.
   */
  private static final class PeerSession implements SSLSession {
    private final X509Certificate peer;

    PeerSession(X509Certificate peer) {
      this.peer = peer;
    }

    @Override
    public Certificate[] getPeerCertificates() {
      return new Certificate[] {peer};
    }

    @Override
    public Principal getPeerPrincipal() throws SSLPeerUnverifiedException {
      return peer.getSubjectX500Principal();
    }

    @Override
    public byte[] getId() {
      return new byte[0];
    }

    @Override
    public SSLSessionContext getSessionContext() {
      return null;
    }

    @Override
    public long getCreationTime() {
      return 0;
    }

    @Override
    public long getLastAccessedTime() {
      return 0;
    }

    @Override
    public void invalidate() {}

    @Override
    public boolean isValid() {
      return true;
    }

    @Override
    public void putValue(String name, Object value) {}

    @Override
    public Object getValue(String name) {
      return null;
    }

    @Override
    public void removeValue(String name) {}

    @Override
    public String[] getValueNames() {
      return new String[0];
    }

    @Override
    public Certificate[] getLocalCertificates() {
      return null;
    }

    @Override
    public Principal getLocalPrincipal() {
      return null;
    }

    @Override
    public String getCipherSuite() {
      return "TLS_AES_128_GCM_SHA256";
    }

    @Override
    public String getProtocol() {
      return "TLSv1.3";
    }

    @Override
    public String getPeerHost() {
      return null;
    }

    @Override
    public int getPeerPort() {
      return -1;
    }

    @Override
    public int getPacketBufferSize() {
      return 16_709;
    }

    @Override
    public int getApplicationBufferSize() {
      return 16_384;
    }
  }
}

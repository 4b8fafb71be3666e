package dev.meshguard.grpcrbac;

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
import java.util.Map;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

/**
 * A server call as grpc-java's RBAC engine reads it: the method descriptor (for {@code :path}),
 * the authority, and the transport attributes (peer and local addresses, the TLS session with the
 * peer's certificate). Nothing is sent; the engine only reads. Written by hand: grpc-java has no
 * public server call to construct outside a transport.
 */
public final class StubServerCall extends ServerCall<Object, Object> {
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

  private final MethodDescriptor<Object, Object> method;
  private final String authority;
  private final Attributes attributes;

  /**
   * @param fullMethod {@code service/method}, e.g. {@code pkg.Svc/Get} (the request path without its leading {@code /})
   * @param authority the {@code :authority}
   * @param peer the client certificate, or null for plaintext
   * @param remote the peer's address
   * @param local the address the call reached
   */
  public StubServerCall(String fullMethod, String authority, X509Certificate peer, InetSocketAddress remote,
      InetSocketAddress local) {
    this.method = MethodDescriptor.<Object, Object>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullMethod)
        .setRequestMarshaller(NO_MARSHALLER)
        .setResponseMarshaller(NO_MARSHALLER)
        .build();
    this.authority = authority;
    Attributes.Builder builder = Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, remote)
        .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local);
    if (peer != null) {
      builder.set(Grpc.TRANSPORT_ATTR_SSL_SESSION, new PeerSession(peer));
    }
    this.attributes = builder.build();
  }

  /** Request headers as gRPC metadata, in the map's order; names lower-case, one ASCII value each. */
  public static Metadata metadata(Map<String, String> headers) {
    Metadata metadata = new Metadata();
    headers.forEach((name, value) -> metadata.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), value));
    return metadata;
  }

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
    return attributes;
  }

  @Override
  public String getAuthority() {
    return authority;
  }

  /** A TLS session of which grpc-java's engine reads only the peer certificates. */
  private static final class PeerSession implements SSLSession {
    private final Certificate[] peer;

    PeerSession(X509Certificate peer) {
      this.peer = new Certificate[] {peer};
    }

    @Override
    public Certificate[] getPeerCertificates() {
      return peer.clone();
    }

    @Override
    public Principal getPeerPrincipal() {
      return ((X509Certificate) peer[0]).getSubjectX500Principal();
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

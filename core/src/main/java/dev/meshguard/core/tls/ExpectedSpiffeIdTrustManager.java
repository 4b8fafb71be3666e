package dev.meshguard.core.tls;

import dev.meshguard.core.spiffe.SpiffeId;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A client's trust manager that accepts a server whose chain the delegate accepts and whose leaf
 * is an X.509-SVID of exactly one SPIFFE ID, in place of host name verification (an SVID has no
 * DNS names). The delegate is always asked without the socket or engine, so that it never runs the
 * {@code HTTPS} endpoint identification a client may have forced on the engine (the JDK's
 * HttpClient does): JSSE leaves identity checks to an {@link X509ExtendedTrustManager}, so this
 * class is the only one made.
 */
final class ExpectedSpiffeIdTrustManager extends X509ExtendedTrustManager {

  private final X509ExtendedTrustManager delegate;
  private final SpiffeId expected;

  ExpectedSpiffeIdTrustManager(X509ExtendedTrustManager delegate, SpiffeId expected) {
    this.delegate = delegate;
    this.expected = expected;
  }

  X509ExtendedTrustManager delegate() {
    return delegate;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
    SpiffeId id = SvidIds.of(chain[0]);
    if (!id.equals(expected)) {
      throw new CertificateException("server SPIFFE ID " + id + " is not the expected " + expected);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("a client trust manager does not check clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}

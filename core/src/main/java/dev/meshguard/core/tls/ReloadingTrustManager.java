package dev.meshguard.core.tls;

import dev.meshguard.core.spiffe.SpiffeId;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that delegates to the current generation's (PKIX, of the TLS provider), so a
 * new trust bundle applies to the next handshake. On a client it also requires the server's
 * certificate to be an X.509-SVID and checks its SPIFFE ID against the allow-list, in place of
 * host name verification: SVIDs carry a SPIFFE ID, not DNS names.
 */
final class ReloadingTrustManager extends X509ExtendedTrustManager {

  private final ReloadingMaterial material;
  /** Null on a server (client IDs are checked per call by the interceptor). */
  private final SpiffeIdAllowList serverIds;

  ReloadingTrustManager(ReloadingMaterial material, SpiffeIdAllowList serverIds) {
    this.material = material;
    this.serverIds = serverIds;
  }

  private X509ExtendedTrustManager delegate() throws CertificateException {
    X509ExtendedTrustManager tm = material.current().material().trustManager();
    if (tm == null) {
      throw new CertificateException("no trust bundle is configured");
    }
    return tm;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate().checkServerTrusted(chain, authType);
    checkServerId(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate().checkServerTrusted(chain, authType, socket);
    checkServerId(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate().checkServerTrusted(chain, authType, engine);
    checkServerId(chain);
  }

  private void checkServerId(X509Certificate[] chain) throws CertificateException {
    if (serverIds == null) {
      return;
    }
    SpiffeId id = SvidIds.of(chain[0]);
    if (!serverIds.allows(id)) {
      // Both IDs in the message: it is what a client's user reads when the handshake fails.
      List<String> expected = serverIds.entries();
      throw new CertificateException("server SPIFFE ID " + id + " is not allowed; expected "
          + (expected.size() == 1 ? expected.get(0) : "one of " + String.join(", ", expected)));
    }
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    X509ExtendedTrustManager tm = material.current().material().trustManager();
    return tm == null ? new X509Certificate[0] : tm.getAcceptedIssuers();
  }
}

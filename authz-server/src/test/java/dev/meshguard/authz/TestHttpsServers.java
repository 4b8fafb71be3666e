package dev.meshguard.authz;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.testkit.tls.TestCert;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * HTTPS servers (the JDK's {@link HttpsServer} on 127.0.0.1, a free port) standing in for the
 * peers meshguard's TLS clients call in tests: HTTP CUSTOM providers and JWKS endpoints.
 */
final class TestHttpsServers {

  private TestHttpsServers() {}

  /**
   * Server TLS presenting {@code leaf}, on {@code crypto}'s provider (null: the JDK's defaults);
   * with {@code clientCa}, client certificates from it are trusted.
   */
  static SSLContext context(Crypto crypto, TestCert leaf, X509Certificate clientCa) throws Exception {
    char[] password = "test-server-password".toCharArray();
    KeyStore keys = keyStore(crypto);
    keys.setKeyEntry("server", leaf.privateKey(), password, leaf.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = crypto == null ? KeyManagerFactory.getInstance("PKIX")
        : KeyManagerFactory.getInstance("PKIX", crypto.tlsProvider());
    kmf.init(keys, password);
    TrustManagerFactory tmf = null;
    if (clientCa != null) {
      KeyStore trust = keyStore(crypto);
      trust.setCertificateEntry("client-ca", clientCa);
      tmf = crypto == null ? TrustManagerFactory.getInstance("PKIX")
          : TrustManagerFactory.getInstance("PKIX", crypto.tlsProvider());
      tmf.init(trust);
    }
    SSLContext context = crypto == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", crypto.tlsProvider());
    context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(),
        crypto == null ? null : crypto.secureRandom());
    return context;
  }

  /** Starts a server on {@code context} serving {@code handler} at {@code /}, asking for a client certificate when told. */
  static HttpsServer start(SSLContext context, boolean needClientAuth, HttpHandler handler) throws Exception {
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setNeedClientAuth(needClientAuth);
        params.setSSLParameters(p);
      }
    });
    server.createContext("/", handler);
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    return server;
  }

  private static KeyStore keyStore(Crypto crypto) throws Exception {
    if (crypto != null) {
      return crypto.newKeyStore();
    }
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    return store;
  }
}

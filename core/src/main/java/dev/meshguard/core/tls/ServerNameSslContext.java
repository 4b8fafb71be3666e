package dev.meshguard.core.tls;

import java.nio.ByteBuffer;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * A client {@link SSLContext} whose engines treat the peer as {@code serverName}, whatever host
 * the caller connects to: the engine is created with that peer host (which endpoint
 * identification checks the certificate against) and every {@link SSLParameters} set on it get
 * that SNI. The JDK's {@code HttpClient} has no setting for either: it creates engines for the
 * URI's host and overwrites the SNI with it (its {@code AbstractAsyncSSLConnection}), so a
 * provider reached at {@code 10.0.0.7} but certified as {@code authz.example} needs this wrapper.
 *
 * <p>Written by hand: no library offers an SNI override for the JDK client. The engine wrapper
 * only forwards; the handshake, keys and checks are the delegate's (the mode's JSSE provider).
 */
final class ServerNameSslContext extends SSLContext {

  private ServerNameSslContext(Spi spi, SSLContext delegate) {
    super(spi, delegate.getProvider(), delegate.getProtocol());
  }

  static SSLContext wrap(SSLContext delegate, String serverName) {
    return new ServerNameSslContext(new Spi(delegate, serverName), delegate);
  }

  private static final class Spi extends SSLContextSpi {
    private final SSLContext delegate;
    private final String serverName;

    Spi(SSLContext delegate, String serverName) {
      this.delegate = delegate;
      this.serverName = serverName;
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
      throw new KeyManagementException("already initialised");
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      throw new UnsupportedOperationException("engines only: sockets would not get the server name");
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      throw new UnsupportedOperationException("a client context");
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      return new NamedEngine(delegate.createSSLEngine(serverName, -1), serverName);
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      return new NamedEngine(delegate.createSSLEngine(serverName, port), serverName);
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      return delegate.getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      return delegate.getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
      return delegate.getDefaultSSLParameters();
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
      return delegate.getSupportedSSLParameters();
    }
  }

  /** Forwards everything; pins the SNI on {@link #setSSLParameters}. */
  private static final class NamedEngine extends SSLEngine {
    private final SSLEngine d;
    private final List<javax.net.ssl.SNIServerName> sni;

    NamedEngine(SSLEngine delegate, String serverName) {
      super(serverName, delegate.getPeerPort());
      this.d = delegate;
      this.sni = List.of(new SNIHostName(serverName));
      SSLParameters p = d.getSSLParameters();
      p.setServerNames(sni);
      d.setSSLParameters(p);
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
      params.setServerNames(sni);
      d.setSSLParameters(params);
    }

    @Override
    public SSLParameters getSSLParameters() {
      return d.getSSLParameters();
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
      return d.wrap(srcs, offset, length, dst);
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
      return d.unwrap(src, dsts, offset, length);
    }

    @Override
    public Runnable getDelegatedTask() {
      return d.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
      d.closeInbound();
    }

    @Override
    public boolean isInboundDone() {
      return d.isInboundDone();
    }

    @Override
    public void closeOutbound() {
      d.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
      return d.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return d.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
      return d.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
      d.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
      return d.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
      return d.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
      d.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
      return d.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
      return d.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
      d.beginHandshake();
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
      return d.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
      d.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
      return d.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
      d.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
      return d.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
      d.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
      return d.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
      d.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
      return d.getEnableSessionCreation();
    }

    @Override
    public String getApplicationProtocol() {
      return d.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
      return d.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
      d.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
      return d.getHandshakeApplicationProtocolSelector();
    }
  }
}

package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS for meshguard as the client of a service that is not a mesh workload (Redis, a CUSTOM
 * ext_authz provider): the server is identified by its host name or IP address (the
 * {@code HTTPS} endpoint identification of RFC 2818 / RFC 6125, not a SPIFFE ID as in
 * {@link TlsContext}), its chain must reach the configured CA certificates (or the JVM's default
 * trust store), and a client certificate is presented when one is configured (mTLS).
 *
 * <p>Everything comes from {@link Crypto}: the JSSE provider ({@link Crypto#tlsProvider()},
 * BCJSSE on the approved-only BCFIPS in FIPS mode, so only approved protocols and suites can be
 * negotiated), the key and trust managers of that provider over {@link Crypto#keyStoreType()}
 * stores, and the random source. The three ways clients take TLS are all built from one instance:
 * a netty {@link SslContextBuilder} to finish ({@link #configure}, for Lettuce), a grpc-java
 * {@link SslContext} ({@link #grpcContext()}), and a JDK {@link SSLContext} ({@link #sslContext()},
 * for {@code java.net.http.HttpClient}).
 *
 * <p>The files are read once, by {@link #load}; a client that wants new material loads again.
 */
public final class ClientTls {

  /** TLS 1.3 first; 1.2 for servers without it. Both have approved suites in FIPS mode. */
  public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /** What {@link SSLContext#getInstance} is asked for; the protocols are then narrowed to {@link #PROTOCOLS}. */
  private static final String CONTEXT_PROTOCOL = "TLS";
  private static final String HTTPS = "HTTPS";

  private final Crypto crypto;
  private final Path caFile;
  private final X509ExtendedTrustManager trustManager;
  private final X509ExtendedKeyManager keyManager;
  private final List<String> cipherSuites;

  private ClientTls(Crypto crypto, Path caFile, X509ExtendedTrustManager trustManager,
      X509ExtendedKeyManager keyManager, List<String> cipherSuites) {
    this.crypto = crypto;
    this.caFile = caFile;
    this.trustManager = trustManager;
    this.keyManager = keyManager;
    this.cipherSuites = cipherSuites;
  }

  /**
   * Reads and checks the files.
   *
   * @param setting the configuration key of this TLS material, named in errors
   * @param caFile PEM CA certificates the server's chain must reach; null for the JVM's default trust store
   * @param certFile PEM client certificate chain (leaf first) for mTLS; null for none
   * @param keyFile the PEM private key of {@code certFile}; given exactly when {@code certFile} is
   * @throws ConfigException naming the file (or {@code setting}) when a file is missing, unreadable,
   *     not PEM, the key does not match the certificate, or FIPS mode refuses the key type
   */
  public static ClientTls load(Crypto crypto, String setting, Path caFile, Path certFile, Path keyFile)
      throws ConfigException {
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(setting, "setting");
    if ((certFile == null) != (keyFile == null)) {
      throw ConfigException.forSetting(setting, "a client certificate and its private key are given together"
          + " (certificate " + certFile + ", key " + keyFile + ")");
    }
    // TlsMaterial already turns PEM files into key and trust managers of the mode's provider,
    // checking that the key belongs to the certificate; the options here only name the files.
    TlsOptions files = TlsOptions.builder().certFile(certFile).keyFile(keyFile).trustBundleFile(caFile)
        .clientAuth(TlsOptions.ClientAuth.NONE).reloadInterval(Duration.ZERO).build();
    TlsMaterial material = TlsMaterial.build(crypto, files, FileContents.read(files));
    X509ExtendedTrustManager trust = material.trustManager() != null ? material.trustManager()
        : defaultTrustManager(crypto, setting);
    return new ClientTls(crypto, caFile, trust, material.keyManager(), providerDefaultSuites(crypto, trust));
  }

  /**
   * The suites the provider enables by default. Netty would otherwise offer its own fixed list,
   * which hides what the provider allows: in FIPS mode BCJSSE enables only approved suites, and
   * the JDK applies {@code jdk.tls.disabledAlgorithms} to its own.
   */
  private static List<String> providerDefaultSuites(Crypto crypto, X509ExtendedTrustManager trust)
      throws ConfigException {
    try {
      SSLContext context = SSLContext.getInstance(CONTEXT_PROTOCOL, crypto.tlsProvider());
      context.init(null, new TrustManager[] {trust}, crypto.secureRandom());
      return List.of(context.getDefaultSSLParameters().getCipherSuites());
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting("tls", "cannot start " + crypto.tlsProvider().getName() + ": " + e.getMessage());
    }
  }

  private static X509ExtendedTrustManager defaultTrustManager(Crypto crypto, String setting) throws ConfigException {
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX", crypto.tlsProvider());
      factory.init((KeyStore) null);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException(crypto.tlsProvider().getName() + " returned no X509ExtendedTrustManager");
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting(setting, "cannot read the JVM's default trust store with "
          + crypto.tlsProvider().getName() + " (name the CA file instead): " + e.getMessage());
    }
  }

  /**
   * Finishes a netty client builder: the mode's JSSE provider (netty's JDK engine, never
   * OpenSSL), these trust and key managers, {@link #PROTOCOLS}, the mode's random, and host name
   * verification. Safe to call on a builder someone else started (Lettuce's
   * {@code SslOptions.sslContext} customizer): it overrides what matters.
   */
  public SslContextBuilder configure(SslContextBuilder builder) {
    return configureExceptCiphers(builder).ciphers(cipherSuites, SupportedCipherSuiteFilter.INSTANCE);
  }

  private SslContextBuilder configureExceptCiphers(SslContextBuilder builder) {
    builder.sslProvider(SslProvider.JDK)
        .sslContextProvider(crypto.tlsProvider())
        .trustManager(trustManager)
        .protocols(PROTOCOLS)
        .secureRandom(crypto.secureRandom())
        .endpointIdentificationAlgorithm(HTTPS);
    if (keyManager != null) {
      builder.keyManager(keyManager);
    }
    return builder;
  }

  /**
   * A context for a grpc-java {@code NettyChannelBuilder}: {@link #configure} plus grpc's HTTP/2
   * ALPN and cipher settings for the provider ({@link GrpcSslContexts#configure(SslContextBuilder,
   * java.security.Provider)} knows BCJSSE).
   *
   * @throws ConfigException naming the provider when netty cannot build the context
   */
  public SslContext grpcContext() throws ConfigException {
    SslContextBuilder builder = GrpcSslContexts.configure(SslContextBuilder.forClient(), crypto.tlsProvider());
    try {
      // After grpc's settings: grpc sets its own provider and endpoint identification. Its
      // HTTP/2 suite list stays (RFC 9113 9.2.2 forbids many of the provider's TLS 1.2 defaults),
      // narrowed by netty to what the provider supports: in FIPS mode the approved ones.
      return configureExceptCiphers(builder).build();
    } catch (SSLException e) {
      throw ConfigException.forSetting("tls", "cannot build a " + crypto.tlsProvider().getName()
          + " gRPC client TLS context: " + e.getMessage());
    }
  }

  /**
   * A JDK context of the mode's provider with these managers, for {@code HttpClient.Builder.sslContext}.
   * The JDK client verifies host names itself (unless its
   * {@code jdk.internal.httpclient.disableHostnameVerification} property is set).
   */
  public SSLContext sslContext() throws ConfigException {
    try {
      SSLContext context = SSLContext.getInstance(CONTEXT_PROTOCOL, crypto.tlsProvider());
      context.init(keyManager == null ? null : new KeyManager[] {keyManager}, new TrustManager[] {trustManager},
          crypto.secureRandom());
      return context;
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting("tls", "cannot build a " + crypto.tlsProvider().getName()
          + " client TLS context: " + e.getMessage());
    }
  }

  /** The JDK parameters to use with {@link #sslContext()}: {@link #PROTOCOLS}, host name verification. */
  public javax.net.ssl.SSLParameters sslParameters() {
    javax.net.ssl.SSLParameters parameters = new javax.net.ssl.SSLParameters();
    parameters.setProtocols(PROTOCOLS.clone());
    parameters.setEndpointIdentificationAlgorithm(HTTPS);
    return parameters;
  }

  public Crypto crypto() {
    return crypto;
  }

  /** The CA file servers must chain to; null for the JVM's default trust store. */
  public Path caFile() {
    return caFile;
  }

  /** Whether a client certificate is presented. */
  public boolean presentsCertificate() {
    return keyManager != null;
  }

  /**
   * What one handshake negotiated, for logs, status and tests.
   *
   * @param protocol the negotiated protocol version, e.g. {@code TLSv1.3}
   * @param cipherSuite the negotiated suite, e.g. {@code TLS_AES_128_GCM_SHA256}
   * @param sessionClass the class of the JSSE session: which provider's engine made the handshake
   *     ({@code org.bouncycastle.jsse.provider.*} for BCJSSE, {@code sun.security.ssl.*} for SunJSSE)
   */
  public record Negotiated(String protocol, String cipherSuite, String sessionClass) {
    public Negotiated {
      Objects.requireNonNull(protocol, "protocol");
      Objects.requireNonNull(cipherSuite, "cipherSuite");
      Objects.requireNonNull(sessionClass, "sessionClass");
    }

    public static Negotiated of(SSLSession session) {
      return new Negotiated(session.getProtocol(), session.getCipherSuite(), session.getClass().getName());
    }

    @Override
    public String toString() {
      return protocol + " " + cipherSuite;
    }
  }

  @Override
  public String toString() {
    return "ClientTls[" + crypto.tlsProvider().getName() + ", CA " + (caFile == null ? "JVM default" : caFile)
        + (keyManager == null ? "" : ", client certificate") + "]";
  }
}

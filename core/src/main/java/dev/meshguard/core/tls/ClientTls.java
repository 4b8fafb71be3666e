package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.spiffe.SpiffeId;
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
import javax.net.ssl.SNIHostName;
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
 * <h2>Reloading</h2>
 * The files are read by {@link #load} and again by {@link #checkForChanges()}, which the owner
 * calls from its reload poll: it is the same {@link ReloadingMaterial} that serves
 * {@link TlsContext} (content digests, a complete new generation swapped in atomically, a bad or
 * half-written file refused and counted once while the last good generation stays, retried when
 * the content changes again). Contexts built by this instance hand out key and trust managers that
 * follow the current generation, so their next full handshake uses new material; but a context
 * also caches TLS sessions, and a resumed session keeps the identity it was made with. An owner
 * that wants the new identity seen at once builds new contexts (and clients) when
 * {@link #checkForChanges()} returns true.
 *
 * <h2>Server identity</h2>
 * By default the server must name the host it is reached at (RFC 2818 {@code HTTPS} endpoint
 * identification). {@link #expecting} changes that: a {@code serverName} is sent as SNI and is what
 * the certificate must name instead (for a JDK client, {@link #sslContext()} makes both so; a
 * grpc-java client passes {@link #serverName()} to {@code overrideAuthority}), and a
 * {@code spiffeId} replaces host name verification by an exact match of the certificate's one URI
 * SAN, as for mesh workloads, whose X.509-SVIDs carry no DNS names.
 */
public final class ClientTls {

  /** TLS 1.3 first; 1.2 for servers without it. Both have approved suites in FIPS mode. */
  public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /** What {@link SSLContext#getInstance} is asked for; the protocols are then narrowed to {@link #PROTOCOLS}. */
  private static final String CONTEXT_PROTOCOL = "TLS";
  private static final String HTTPS = "HTTPS";

  private final Crypto crypto;
  private final Path caFile;
  /** The files' live material; null when no file is configured (nothing to reload). */
  private final ReloadingMaterial material;
  private final X509ExtendedTrustManager trustManager;
  private final X509ExtendedKeyManager keyManager;
  private final List<String> cipherSuites;
  private final String serverName; // null: the host the client connects to
  private final SpiffeId serverId; // null: host name verification

  private ClientTls(Crypto crypto, Path caFile, ReloadingMaterial material, X509ExtendedTrustManager trustManager,
      X509ExtendedKeyManager keyManager, List<String> cipherSuites, String serverName, SpiffeId serverId) {
    this.crypto = crypto;
    this.caFile = caFile;
    this.material = material;
    this.trustManager = trustManager;
    this.keyManager = keyManager;
    this.cipherSuites = cipherSuites;
    this.serverName = serverName;
    this.serverId = serverId;
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
    // The interval is unused: the owner of this ClientTls decides when to checkForChanges().
    TlsOptions files = TlsOptions.builder().certFile(certFile).keyFile(keyFile).trustBundleFile(caFile)
        .clientAuth(TlsOptions.ClientAuth.NONE).reloadInterval(Duration.ZERO).build();
    ReloadingMaterial material = caFile == null && certFile == null ? null : ReloadingMaterial.load(crypto, files);
    X509ExtendedTrustManager trust = caFile != null ? new ReloadingTrustManager(material, null)
        : defaultTrustManager(crypto, setting);
    X509ExtendedKeyManager key = certFile != null ? new ReloadingKeyManager(material) : null;
    return new ClientTls(crypto, caFile, material, trust, key, providerDefaultSuites(crypto, trust), null, null);
  }

  /**
   * This material with another expectation of the server's identity.
   *
   * @param serverName the name sent as SNI and that the server's certificate must name (DNS SAN),
   *     in place of the host connected to; null for that host
   * @param spiffeId the SPIFFE ID the server's certificate must carry as its one URI SAN, checked
   *     instead of any host name (the chain must still reach the CA file); null for host name
   *     verification
   * @throws IllegalArgumentException when {@code serverName} is not a valid SNI host name
   */
  public ClientTls expecting(String serverName, SpiffeId spiffeId) {
    if (serverName != null) {
      new SNIHostName(serverName); // throws IllegalArgumentException naming the problem
    }
    X509ExtendedTrustManager base = this.serverId == null ? trustManager
        : ((ExpectedSpiffeIdTrustManager) trustManager).delegate();
    X509ExtendedTrustManager trust = spiffeId == null ? base : new ExpectedSpiffeIdTrustManager(base, spiffeId);
    return new ClientTls(crypto, caFile, material, trust, keyManager, cipherSuites, serverName, spiffeId);
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
        .endpointIdentificationAlgorithm(endpointIdentification());
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
   * "HTTPS", or empty (both JSSE providers read it as "none") when a SPIFFE ID is checked instead:
   * not null, since grpc-java puts "HTTPS" on an engine without an algorithm.
   */
  private String endpointIdentification() {
    return serverId == null ? HTTPS : TlsContext.NO_ENDPOINT_IDENTIFICATION;
  }

  /**
   * A JDK context of the mode's provider with these managers, for {@code HttpClient.Builder.sslContext}.
   * The JDK client verifies host names itself (unless its
   * {@code jdk.internal.httpclient.disableHostnameVerification} property is set). With a
   * {@link #serverName()}, its engines take that name as their peer host and SNI, whatever host
   * the client connects to, so the JDK's verification checks the certificate against it. Each call
   * returns a new context, with an empty session cache.
   */
  public SSLContext sslContext() throws ConfigException {
    try {
      SSLContext context = SSLContext.getInstance(CONTEXT_PROTOCOL, crypto.tlsProvider());
      context.init(keyManager == null ? null : new KeyManager[] {keyManager}, new TrustManager[] {trustManager},
          crypto.secureRandom());
      return serverName == null ? context : ServerNameSslContext.wrap(context, serverName);
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting("tls", "cannot build a " + crypto.tlsProvider().getName()
          + " client TLS context: " + e.getMessage());
    }
  }

  /**
   * The JDK parameters to use with {@link #sslContext()}: {@link #PROTOCOLS}, host name
   * verification (none when a SPIFFE ID is expected: the trust manager checks it), SNI.
   */
  public javax.net.ssl.SSLParameters sslParameters() {
    javax.net.ssl.SSLParameters parameters = new javax.net.ssl.SSLParameters();
    parameters.setProtocols(PROTOCOLS.clone());
    parameters.setEndpointIdentificationAlgorithm(endpointIdentification());
    if (serverName != null) {
      parameters.setServerNames(List.of(new SNIHostName(serverName)));
    }
    return parameters;
  }

  /**
   * Reads the files again and, when their content changed and loads, makes it current: see the
   * class comment. A refused change (missing, half-written or mismatched file) keeps the current
   * generation, is logged and counted once per distinct problem ({@link #reloadFailures()},
   * {@link #reloadProblem()}), and is tried again when the content changes. Thread-safe; never
   * throws for a file problem.
   *
   * @return true when a new generation became current
   */
  public boolean checkForChanges() {
    return material != null && material.checkForChanges();
  }

  /** 1 after {@link #load}, +1 per change {@link #checkForChanges()} accepted. */
  public long generation() {
    return material == null ? 1 : material.current().number();
  }

  /** Changes refused by {@link #checkForChanges()}; each distinct problem counts once. */
  public long reloadFailures() {
    return material == null ? 0 : material.failures();
  }

  /**
   * Why the files' current content was refused (naming the file and the problem), or null when
   * the current generation is the files' content.
   */
  public String reloadProblem() {
    return material == null ? null : material.lastProblem();
  }

  /** The certificate presented now, or null when none is configured. */
  public java.security.cert.X509Certificate certificate() {
    return material == null ? null : material.current().material().leaf();
  }

  /** The name sent as SNI and checked against the server's certificate; null for the host connected to. */
  public String serverName() {
    return serverName;
  }

  /** The SPIFFE ID the server must present instead of a host name; null for host name verification. */
  public SpiffeId serverId() {
    return serverId;
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
        + (keyManager == null ? "" : ", client certificate") + (serverName == null ? "" : ", server name " + serverName)
        + (serverId == null ? "" : ", server " + serverId) + "]";
  }
}

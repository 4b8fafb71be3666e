package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import io.grpc.ServerInterceptor;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.lang.System.Logger.Level;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A netty {@link SslContext} for a grpc-java server or client, built from {@link TlsOptions},
 * whose certificate, key and trust bundle follow their files without a restart.
 *
 * <p>The JSSE provider is always passed explicitly ({@link Crypto#tlsProvider()}: BCJSSE in FIPS
 * mode, SunJSSE otherwise) through {@link GrpcSslContexts#configure(SslContextBuilder,
 * java.security.Provider)}, which knows BCJSSE since grpc-java 1.76: left to its defaults grpc
 * may pick an OpenSSL engine and silently bypass the FIPS module. Key and trust managers come
 * from that same provider (see {@link TlsMaterial}) and are wrapped by {@link ReloadingKeyManager}
 * and {@link ReloadingTrustManager}, which follow the live {@link ReloadingMaterial}.
 *
 * <p>Host name verification is off on both sides: grpc-java (1.85: {@code GrpcSslContexts} and
 * again {@code ProtocolNegotiators.ClientTlsHandler} for any engine without an algorithm) turns on
 * {@code HTTPS} endpoint identification, which an X.509-SVID (a URI SAN, no DNS names) cannot
 * pass. The engines get the empty algorithm, which both JSSE providers read as "none". Peers are
 * identified by SPIFFE ID instead: by {@link #serverInterceptor()} on a server, in the trust
 * manager on a client.
 *
 * <p>{@link #close()} stops the file poll; the executor belongs to the caller.
 */
public final class TlsContext implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(TlsContext.class.getName());
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /** Empty, not null: see {@link #build}. */
  static final String NO_ENDPOINT_IDENTIFICATION = "";

  private final TlsOptions options;
  private final boolean server;
  private final ReloadingMaterial material;
  private final SslContext sslContext;
  private final ServerInterceptor serverInterceptor;
  private final ScheduledFuture<?> poll;

  private TlsContext(TlsOptions options, boolean server, ReloadingMaterial material, SslContext sslContext,
      ScheduledExecutorService scheduler) {
    this.options = options;
    this.server = server;
    this.material = material;
    this.sslContext = sslContext;
    this.serverInterceptor = server
        ? new PeerAuthorizationInterceptor(options.allowedPeers(), options.clientAuth() == TlsOptions.ClientAuth.REQUIRE)
        : null;
    long intervalNanos = options.reloadInterval().toNanos();
    this.poll = intervalNanos == 0 ? null
        : Objects.requireNonNull(scheduler, "scheduler (reloading is on)")
            .scheduleWithFixedDelay(this::poll, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * A server context. Needs a certificate and key; a trust bundle when client certificates are
   * asked for.
   *
   * @param scheduler runs the file poll; may be null when {@link TlsOptions#reloadInterval()} is zero
   * @throws ConfigException naming the file when the initial material cannot be loaded
   */
  public static TlsContext forServer(TlsOptions options, Crypto crypto, ScheduledExecutorService scheduler)
      throws ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(crypto, "crypto");
    if (options.certFile() == null) {
      throw new IllegalArgumentException("a TLS server needs certFile and keyFile");
    }
    boolean askForClientCert = options.clientAuth() != TlsOptions.ClientAuth.NONE;
    if (askForClientCert && options.trustBundleFile() == null) {
      throw new IllegalArgumentException("clientAuth " + options.clientAuth() + " needs trustBundleFile");
    }
    if (!askForClientCert && !options.allowedPeers().isEmpty()) {
      throw new IllegalArgumentException("allowedPeers " + options.allowedPeers().entries()
          + " can never match with clientAuth NONE");
    }
    ReloadingMaterial material = ReloadingMaterial.load(crypto, options);
    SslContextBuilder builder = SslContextBuilder.forServer(new ReloadingKeyManager(material));
    if (askForClientCert) {
      builder.trustManager(new ReloadingTrustManager(material, null));
    }
    builder.clientAuth(switch (options.clientAuth()) {
      case NONE -> ClientAuth.NONE;
      case OPTIONAL -> ClientAuth.OPTIONAL;
      case REQUIRE -> ClientAuth.REQUIRE;
    });
    return new TlsContext(options, true, material, build(builder, crypto), scheduler);
  }

  /**
   * A client context. Needs a trust bundle; presents a certificate when one is configured; accepts
   * servers whose X.509-SVID chains to the bundle and whose SPIFFE ID {@link TlsOptions#allowedPeers()} allows.
   *
   * @param scheduler runs the file poll; may be null when {@link TlsOptions#reloadInterval()} is zero
   * @throws ConfigException naming the file when the initial material cannot be loaded
   */
  public static TlsContext forClient(TlsOptions options, Crypto crypto, ScheduledExecutorService scheduler)
      throws ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(crypto, "crypto");
    if (options.trustBundleFile() == null) {
      throw new IllegalArgumentException("a TLS client needs trustBundleFile");
    }
    ReloadingMaterial material = ReloadingMaterial.load(crypto, options);
    SslContextBuilder builder = SslContextBuilder.forClient()
        .trustManager(new ReloadingTrustManager(material, options.allowedPeers()));
    if (options.certFile() != null) {
      builder.keyManager(new ReloadingKeyManager(material));
    }
    return new TlsContext(options, false, material, build(builder, crypto), scheduler);
  }

  private static SslContext build(SslContextBuilder builder, Crypto crypto) throws ConfigException {
    GrpcSslContexts.configure(builder, crypto.tlsProvider());
    builder.protocols(PROTOCOLS)
        .secureRandom(crypto.secureRandom())
        // After configure(), which sets "HTTPS". Not null: grpc's ClientTlsHandler puts "HTTPS"
        // on any engine whose algorithm is null. SunJSSE and BCJSSE both skip the check for "".
        .endpointIdentificationAlgorithm(NO_ENDPOINT_IDENTIFICATION);
    try {
      return builder.build();
    } catch (SSLException e) {
      throw ConfigException.forSetting("tls", "cannot build a " + crypto.tlsProvider().getName()
          + " TLS context: " + e.getMessage());
    }
  }

  private void poll() {
    try {
      material.checkForChanges();
    } catch (RuntimeException e) {
      // An exception would cancel the scheduled poll for good; log it and poll again next time.
      LOG.log(Level.ERROR, "TLS reload check failed unexpectedly", e);
    }
  }

  /** The context to hand to {@code NettyServerBuilder.sslContext} or {@code NettyChannelBuilder.sslContext}. */
  public SslContext sslContext() {
    return sslContext;
  }

  public TlsOptions options() {
    return options;
  }

  public boolean isServer() {
    return server;
  }

  /**
   * The interceptor that enforces {@link TlsOptions#allowedPeers()} and publishes
   * {@link PeerAuthorizationInterceptor#PEER_SPIFFE_ID}; install it on the server.
   *
   * @throws IllegalStateException on a client context
   */
  public ServerInterceptor serverInterceptor() {
    if (!server) {
      throw new IllegalStateException("a client TLS context has no server interceptor");
    }
    return serverInterceptor;
  }

  /** The number of the material in use: 1 after start, +1 per successful reload. */
  public long generation() {
    return material.current().number();
  }

  /** The certificate presented now, or null for a client without one. */
  public X509Certificate certificate() {
    return material.current().material().leaf();
  }

  /** Reloads refused so far (bad or unreadable files); each distinct problem counts once. */
  public long reloadFailures() {
    return material.failures();
  }

  ReloadingMaterial material() {
    return material;
  }

  /** Stops watching the files; the context keeps working with its current material. */
  @Override
  public void close() {
    if (poll != null) {
      poll.cancel(false);
    }
  }
}

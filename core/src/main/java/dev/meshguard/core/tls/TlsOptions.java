package dev.meshguard.core.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable TLS settings of one server or client, read from PEM files.
 *
 * @param certFile the certificate, or the chain with the leaf first; null only for a client that
 *     presents no certificate (then {@code keyFile} is null too)
 * @param keyFile the private key of the leaf (PKCS#8, SEC1 or PKCS#1 PEM, unencrypted)
 * @param trustBundleFile the CA certificates peers must chain to; required for a client and for
 *     a server that asks for client certificates
 * @param clientAuth whether a server asks for client certificates (ignored by clients)
 * @param allowedPeers on a server, the client SPIFFE IDs allowed to call (enforced per call, after
 *     the handshake, by {@link PeerAuthorizationInterceptor}); on a client, the server SPIFFE IDs
 *     accepted (checked in the handshake, instead of host name verification). Empty: any peer
 *     whose certificate is an X.509-SVID chaining to the bundle.
 * @param reloadInterval how often the files are checked for new content; {@link Duration#ZERO}
 *     turns reloading off
 */
public record TlsOptions(
    Path certFile,
    Path keyFile,
    Path trustBundleFile,
    ClientAuth clientAuth,
    SpiffeIdAllowList allowedPeers,
    Duration reloadInterval) {

  /** Whether a server asks for, and requires, a client certificate. */
  public enum ClientAuth {
    /** No client certificate is asked for. */
    NONE,
    /**
     * Asked for, not required by the handshake; a call without one proceeds with no peer ID
     * only while the allow-list is empty, and is UNAUTHENTICATED otherwise.
     */
    OPTIONAL,
    /** mTLS: the handshake fails without a client certificate that chains to the bundle. */
    REQUIRE
  }

  /** Mesh servers authenticate their callers: fail closed unless told otherwise. */
  public static final ClientAuth DEFAULT_CLIENT_AUTH = ClientAuth.REQUIRE;
  /**
   * Kubernetes updates a mounted secret about a minute after it changes; polling every five
   * seconds keeps the extra delay small, and reading three small files costs nothing.
   */
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(5);
  /** Below this, polling would be a busy loop. */
  public static final Duration MIN_RELOAD_INTERVAL = Duration.ofMillis(10);

  public TlsOptions {
    Objects.requireNonNull(clientAuth, "clientAuth");
    Objects.requireNonNull(allowedPeers, "allowedPeers");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException("certFile and keyFile must be given together (certFile="
          + certFile + ", keyFile=" + keyFile + ")");
    }
    if (!reloadInterval.isZero() && reloadInterval.compareTo(MIN_RELOAD_INTERVAL) < 0) {
      throw new IllegalArgumentException("reloadInterval must be zero (off) or at least " + MIN_RELOAD_INTERVAL
          + ", got " + reloadInterval);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    return new Builder()
        .certFile(certFile)
        .keyFile(keyFile)
        .trustBundleFile(trustBundleFile)
        .clientAuth(clientAuth)
        .allowedPeers(allowedPeers)
        .reloadInterval(reloadInterval);
  }

  /** Builder with the defaults above; {@link #build()} validates. */
  public static final class Builder {
    private Path certFile;
    private Path keyFile;
    private Path trustBundleFile;
    private ClientAuth clientAuth = DEFAULT_CLIENT_AUTH;
    private SpiffeIdAllowList allowedPeers = SpiffeIdAllowList.ANY_AUTHENTICATED;
    private Duration reloadInterval = DEFAULT_RELOAD_INTERVAL;

    private Builder() {}

    public Builder certFile(Path certFile) {
      this.certFile = certFile;
      return this;
    }

    public Builder keyFile(Path keyFile) {
      this.keyFile = keyFile;
      return this;
    }

    public Builder trustBundleFile(Path trustBundleFile) {
      this.trustBundleFile = trustBundleFile;
      return this;
    }

    public Builder clientAuth(ClientAuth clientAuth) {
      this.clientAuth = Objects.requireNonNull(clientAuth, "clientAuth");
      return this;
    }

    public Builder allowedPeers(SpiffeIdAllowList allowedPeers) {
      this.allowedPeers = Objects.requireNonNull(allowedPeers, "allowedPeers");
      return this;
    }

    public Builder reloadInterval(Duration reloadInterval) {
      this.reloadInterval = Objects.requireNonNull(reloadInterval, "reloadInterval");
      return this;
    }

    public TlsOptions build() {
      return new TlsOptions(certFile, keyFile, trustBundleFile, clientAuth, allowedPeers, reloadInterval);
    }
  }
}

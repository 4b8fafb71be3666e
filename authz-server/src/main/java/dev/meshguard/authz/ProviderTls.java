package dev.meshguard.authz;

import java.nio.file.Path;

/**
 * TLS to one CUSTOM provider ({@code authz.custom_provider_tls.NAME}), meshguard's own setting:
 * Istio's {@code extensionProviders} entries carry no TLS material (Istio applies a
 * DestinationRule's {@code trafficPolicy.tls} to the provider's service), so the field names follow
 * that {@code ClientTLSSettings} ({@code caCertificates}, {@code clientCertificate},
 * {@code privateKey}), written snake_case like the rest of meshguard's config.
 *
 * <p>The provider's certificate must chain to {@code caCertificates} and name the host of the
 * provider's {@code service} (DNS name or IP address SAN). The connection is built from the
 * server's {@code Crypto}: BCJSSE with approved suites only in FIPS mode. The files are read when
 * the server starts.
 *
 * @param caCertificates PEM CA certificates the provider's chain must reach; null for the JVM's
 *     default trust store
 * @param clientCertificate PEM certificate chain meshguard presents (mTLS); null for none
 * @param privateKey the PEM private key of {@code clientCertificate}; given exactly when it is
 */
public record ProviderTls(Path caCertificates, Path clientCertificate, Path privateKey) {

  /** Every field unset (the JVM's trust store, no client certificate): what an omitted key means. */
  public static final ProviderTls DEFAULTS = new ProviderTls(null, null, null);

  public ProviderTls {
    if ((clientCertificate == null) != (privateKey == null)) {
      throw new IllegalArgumentException("client_certificate and private_key are given together (client_certificate "
          + clientCertificate + ", private_key " + privateKey + ")");
    }
  }
}

package dev.meshguard.authz;

import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.nio.file.Path;
import javax.net.ssl.SNIHostName;

/**
 * TLS to one CUSTOM provider ({@code authz.custom_provider_tls.NAME}), meshguard's own setting:
 * Istio's {@code extensionProviders} entries carry no TLS material (Istio applies a
 * DestinationRule's {@code trafficPolicy.tls} to the provider's service), so the field names follow
 * that {@code ClientTLSSettings} ({@code caCertificates}, {@code clientCertificate},
 * {@code privateKey}, {@code sni}; {@code spiffe_id} plays the part of its {@code subjectAltNames}
 * for a provider inside the mesh), written snake_case like the rest of meshguard's config.
 *
 * <p>The provider's certificate must chain to {@code caCertificates} and name the host of the
 * provider's {@code service} (DNS name or IP address SAN), or {@code server_name} when given, or
 * carry {@code spiffe_id} as its URI SAN when given. The connection is built from the server's
 * {@code Crypto}: BCJSSE with approved suites only in FIPS mode. The files are read when the server
 * starts (a problem then stops it) and again whenever their content changes (see
 * {@link CustomProviderClients}).
 *
 * @param caCertificates PEM CA certificates the provider's chain must reach; null for the JVM's
 *     default trust store
 * @param clientCertificate PEM certificate chain meshguard presents (mTLS); null for none
 * @param privateKey the PEM private key of {@code clientCertificate}; given exactly when it is
 * @param serverName the DNS name sent as SNI and that the provider's certificate must name, in
 *     place of the {@code service} host (a provider reached by IP address or through another name);
 *     null for the {@code service} host. A gRPC provider also gets it as {@code :authority}
 * @param spiffeId the SPIFFE ID the provider's certificate must carry (its one URI SAN), checked
 *     instead of any host name, as mesh workloads present X.509-SVIDs without DNS names; needs
 *     {@code caCertificates} (the trust bundle); null for host name verification
 */
public record ProviderTls(Path caCertificates, Path clientCertificate, Path privateKey, String serverName,
    String spiffeId) {

  /** Every field unset (the JVM's trust store, no client certificate): what an omitted key means. */
  public static final ProviderTls DEFAULTS = new ProviderTls(null, null, null, null, null);

  public ProviderTls {
    if ((clientCertificate == null) != (privateKey == null)) {
      throw new IllegalArgumentException("client_certificate and private_key are given together (client_certificate "
          + clientCertificate + ", private_key " + privateKey + ")");
    }
    if (serverName != null) {
      checkServerName(serverName);
    }
    if (spiffeId != null) {
      SpiffeId id = parse(spiffeId);
      if (id.isTrustDomainId()) {
        throw new IllegalArgumentException("spiffe_id \"" + spiffeId + "\" names a trust domain, not a workload;"
            + " a provider's certificate carries a workload's ID (spiffe://TRUST_DOMAIN/PATH)");
      }
      if (caCertificates == null) {
        throw new IllegalArgumentException("spiffe_id needs ca_certificates: the trust bundle the provider's"
            + " X.509-SVID must chain to (the JVM's trust store holds no SPIFFE CA)");
      }
    }
  }

  /** Without a server name or SPIFFE ID: the provider's certificate must name its {@code service} host. */
  public ProviderTls(Path caCertificates, Path clientCertificate, Path privateKey) {
    this(caCertificates, clientCertificate, privateKey, null, null);
  }

  /** {@link #spiffeId()} parsed; null when unset. */
  SpiffeId expectedSpiffeId() {
    return spiffeId == null ? null : parse(spiffeId);
  }

  private static SpiffeId parse(String spiffeId) {
    try {
      return SpiffeId.parse(spiffeId);
    } catch (InvalidSpiffeIdException e) {
      throw new IllegalArgumentException("spiffe_id: " + e.getMessage(), e);
    }
  }

  private static void checkServerName(String name) {
    String quoted = "server_name \"" + name + "\"";
    // SNI carries host names only (RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not
    // permitted"); with an IP address, leave server_name out and use an IP address SAN.
    if (name.contains(":") || name.matches("[0-9.]+")) {
      throw new IllegalArgumentException(quoted + " is an IP address; SNI carries only DNS host names (RFC 6066"
          + " section 3): leave server_name out to check the service's address");
    }
    try {
      new SNIHostName(name); // the JDK's own rules (IDNA, STD3 ASCII: no blanks, no '*', no trailing dot)
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(quoted + " is not a valid DNS host name: " + e.getMessage(), e);
    }
  }
}

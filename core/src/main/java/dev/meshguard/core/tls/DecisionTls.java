package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * mTLS on a decision port (the authz server's {@code authz.tls}, the rate limit server's
 * {@code ratelimit.tls}): only the mesh's proxies may ask. One config shape for every server:
 *
 * <pre>{@code
 * tls: {cert_file: server.pem, key_file: server-key.pem, trust_bundle_file: bundle.pem,
 *       allowed_peers: [spiffe://cluster.local/ns/istio-system/*]}
 * }</pre>
 *
 * @param certFile the server's certificate chain (PEM)
 * @param keyFile its key
 * @param trustBundleFile the CAs client certificates must chain to
 * @param allowedPeers client SPIFFE IDs allowed ({@code spiffe://td/ns/x/sa/y} or a
 *     {@code /*} prefix); empty: any client with a valid SVID
 */
public record DecisionTls(Path certFile, Path keyFile, Path trustBundleFile, List<String> allowedPeers) {
  public DecisionTls {
    Objects.requireNonNull(certFile, "certFile");
    Objects.requireNonNull(keyFile, "keyFile");
    Objects.requireNonNull(trustBundleFile, "trustBundleFile");
    allowedPeers = allowedPeers == null ? List.of() : List.copyOf(allowedPeers);
  }

  /**
   * {@link #allowedPeers()} compiled; errors name {@code SECTION.allowed_peers[i]}.
   *
   * @param section the config key of this section, e.g. {@code authz.tls}
   */
  public SpiffeIdAllowList allowList(String section) throws ConfigException {
    return SpiffeIdAllowList.parse(section + ".allowed_peers", allowedPeers);
  }

  /**
   * The server's {@link TlsOptions}: these files, client certificates required by the handshake
   * ({@link TlsOptions.ClientAuth#REQUIRE}) and the allow-list enforced per call.
   *
   * @param section the config key of this section, e.g. {@code authz.tls}
   */
  public TlsOptions serverOptions(String section) throws ConfigException {
    return TlsOptions.builder()
        .certFile(certFile)
        .keyFile(keyFile)
        .trustBundleFile(trustBundleFile)
        .clientAuth(TlsOptions.ClientAuth.REQUIRE)
        .allowedPeers(allowList(section))
        .build();
  }
}

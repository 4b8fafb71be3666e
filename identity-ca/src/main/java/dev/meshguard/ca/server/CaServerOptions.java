package dev.meshguard.ca.server;

import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.SpiffeBundle;
import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import dev.meshguard.core.crypto.KeyAlgorithm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code ca:} section of a meshguard config file (snake_case keys), read by
 * {@code meshguard ca} and {@code meshguard up}:
 * <pre>{@code
 * ca:
 *   trust_domain: cluster.local
 *   dir: ./meshguard-data/ca          # Istio layout; a root is created here when it holds no CA
 *   key_type: ecdsa-p256              # of a root created at first start
 *   host: 127.0.0.1
 *   port: 15012                       # the Istio CA API (gRPC over TLS), istio-agent's default CA port
 *   bundle_port: 8443                 # the SPIFFE bundle endpoint (https_web)
 *   default_ttl: 24h
 *   max_ttl: 2160h
 *   server_dns_names: [meshguard-ca.meshguard.svc]   # the host of CA_ADDR must be one of these
 *   dns_names: {"spiffe://cluster.local/ns/web/sa/web": [web.example.com]}
 *   rotation_period: 8760h            # of a CA created here; a plugged-in CA is rotated through its files
 *   rotation_lead_time: 168h
 *   reload_interval: 5s               # how often a plugged-in CA's files are checked
 *   authentication:
 *     audiences: [istio-ca]
 *     primary_cluster: Kubernetes
 *     clusters:
 *       Kubernetes: {token_review: {}}                    # in-cluster defaults
 *       edge: {jwks: {file: edge-jwks.json, issuer: https://edge.example}}
 *     trusted_node_accounts: [istio-system/ztunnel]
 * }</pre>
 *
 * @param trustDomain the trust domain leaves are issued in; required
 * @param dir the CA directory in Istio's plugged-in layout ({@code ca-cert.pem}, {@code ca-key.pem},
 *     {@code cert-chain.pem}, {@code root-cert.pem}); when it holds none of them a self-signed root
 *     is created there; required
 * @param keyType the key of a root created at first start
 * @param host the address both servers bind
 * @param port the Istio CA API port; 0 picks a free one
 * @param bundlePort the SPIFFE bundle endpoint's port; 0 picks a free one
 * @param defaultTtl the leaf lifetime when a request asks for none ({@code validity_duration <= 0})
 * @param maxTtl the longest leaf lifetime; a request above it is refused (INVALID_ARGUMENT)
 * @param backdate how far {@code notBefore} lies before the issuance
 * @param caValidity the lifetime of a root created at first start
 * @param serverDnsNames the DNS SANs of the servers' own certificate: istio-agent checks the host
 *     of {@code CA_ADDR} against them, and an https_web bundle client the host of its URL
 * @param serverSpiffeId the servers' own SPIFFE ID; null for {@code spiffe://<trust domain>/meshguard/ca}
 * @param servingTtl the lifetime of the servers' own certificate, renewed at half of it
 * @param tlsCertFile a serving certificate chain to use instead of one this CA issues itself
 *     (e.g. from cert-manager); with {@code tlsKeyFile}, re-read when the files change
 * @param tlsKeyFile the key of {@code tlsCertFile}
 * @param bundleRefreshHint {@code spiffe_refresh_hint} of the served bundle
 * @param dnsNames DNS SANs a SPIFFE ID may have in its leaves besides its ID, by SPIFFE ID
 * @param authentication how callers of the Istio CA API are authenticated
 * @param rotationPeriod how long each root of a CA meshguard created signs before the next takes over
 * @param rotationLeadTime how long a new root is in the bundle before it signs
 * @param reloadInterval how often a plugged-in CA's files, and the servers' TLS files, are checked
 *     for changes
 */
public record CaServerOptions(
    String trustDomain,
    Path dir,
    KeyAlgorithm keyType,
    @NotBlank String host,
    @Range(min = "0", max = "65535") int port,
    @Range(min = "0", max = "65535") int bundlePort,
    @Range(min = "1s") Duration defaultTtl,
    @Range(min = "1s") Duration maxTtl,
    @Range(min = "0s", max = "1h") Duration backdate,
    @Range(min = "1h") Duration caValidity,
    List<String> serverDnsNames,
    String serverSpiffeId,
    @Range(min = "2m") Duration servingTtl,
    Path tlsCertFile,
    Path tlsKeyFile,
    @Range(min = "1s", max = "24h") Duration bundleRefreshHint,
    Map<String, List<String>> dnsNames,
    AuthenticationOptions authentication,
    @Range(min = "1h") Duration rotationPeriod,
    @Range(min = "1m") Duration rotationLeadTime,
    @Range(min = "10ms", max = "1h") Duration reloadInterval) {

  /** istio-agent's default CA port (istiod serves its CA on 15012). */
  public static final int DEFAULT_PORT = 15012;
  public static final int DEFAULT_BUNDLE_PORT = 8443;
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final Duration DEFAULT_SERVING_TTL = Duration.ofHours(24);
  /** How often a plugged-in CA's files are checked for changes (as TLS files are). */
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(5);
  /** The path of the servers' own SPIFFE ID when none is configured. */
  public static final String DEFAULT_SERVER_ID_PATH = "/meshguard/ca";

  /** No trust domain and no directory: {@code meshguard ca} needs both given. */
  public static final CaServerOptions DEFAULTS = new CaServerOptions(null, null, KeyAlgorithm.DEFAULT, DEFAULT_HOST,
      DEFAULT_PORT, DEFAULT_BUNDLE_PORT, CaOptions.DEFAULT_TTL, CaOptions.DEFAULT_MAX_TTL, CaOptions.DEFAULT_BACKDATE,
      CaOptions.DEFAULT_CA_VALIDITY, List.of("localhost"), null, DEFAULT_SERVING_TTL, null, null,
      SpiffeBundle.DEFAULT_REFRESH_HINT, Map.of(), AuthenticationOptions.DEFAULTS,
      RootRotation.Options.DEFAULT_ROTATION_PERIOD, RootRotation.Options.DEFAULT_LEAD_TIME, DEFAULT_RELOAD_INTERVAL);

  public CaServerOptions {
    Objects.requireNonNull(keyType, "keyType");
    Objects.requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (port < 0 || port > 65535 || bundlePort < 0 || bundlePort > 65535) {
      throw new IllegalArgumentException("ports must be between 0 and 65535, found " + port + " and " + bundlePort);
    }
    Objects.requireNonNull(defaultTtl, "defaultTtl");
    Objects.requireNonNull(maxTtl, "maxTtl");
    Objects.requireNonNull(backdate, "backdate");
    Objects.requireNonNull(caValidity, "caValidity");
    Objects.requireNonNull(servingTtl, "servingTtl");
    Objects.requireNonNull(bundleRefreshHint, "bundleRefreshHint");
    if (defaultTtl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("default_ttl " + defaultTtl + " is longer than max_ttl " + maxTtl);
    }
    if ((tlsCertFile == null) != (tlsKeyFile == null)) {
      throw new IllegalArgumentException("tls_cert_file and tls_key_file are given together or not at all");
    }
    serverDnsNames = List.copyOf(serverDnsNames);
    Map<String, List<String>> names = new TreeMap<>();
    dnsNames.forEach((id, list) -> names.put(id, List.copyOf(list)));
    dnsNames = Collections.unmodifiableMap(names);
    authentication = authentication == null ? AuthenticationOptions.DEFAULTS : authentication;
    Objects.requireNonNull(rotationPeriod, "rotationPeriod");
    Objects.requireNonNull(rotationLeadTime, "rotationLeadTime");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
    if (rotationLeadTime.compareTo(rotationPeriod) >= 0) {
      throw new IllegalArgumentException("rotation_lead_time " + rotationLeadTime + " must be shorter than"
          + " rotation_period " + rotationPeriod);
    }
  }

  /** The rotation settings of a CA created here ({@code rotation_period}, {@code rotation_lead_time}). */
  public RootRotation.Options rotation() {
    return RootRotation.Options.DEFAULTS.withPeriods(rotationPeriod, rotationLeadTime);
  }

  public CaServerOptions withRotation(Duration newRotationPeriod, Duration newRotationLeadTime) {
    return new CaServerOptions(trustDomain, dir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication, newRotationPeriod, newRotationLeadTime, reloadInterval);
  }

  public CaServerOptions withReloadInterval(Duration newReloadInterval) {
    return new CaServerOptions(trustDomain, dir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication, rotationPeriod, rotationLeadTime, newReloadInterval);
  }

  public CaServerOptions withTtls(Duration newDefaultTtl, Duration newMaxTtl, Duration newCaValidity) {
    return new CaServerOptions(trustDomain, dir, keyType, host, port, bundlePort, newDefaultTtl, newMaxTtl, backdate,
        newCaValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication, rotationPeriod, rotationLeadTime, reloadInterval);
  }

  public CaServerOptions withTrustDomain(String newTrustDomain) {
    return new CaServerOptions(newTrustDomain, dir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication,
        rotationPeriod, rotationLeadTime, reloadInterval);
  }

  public CaServerOptions withDir(Path newDir) {
    return new CaServerOptions(trustDomain, newDir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication,
        rotationPeriod, rotationLeadTime, reloadInterval);
  }

  public CaServerOptions withPorts(int newPort, int newBundlePort) {
    return new CaServerOptions(trustDomain, dir, keyType, host, newPort, newBundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        authentication,
        rotationPeriod, rotationLeadTime, reloadInterval);
  }

  public CaServerOptions withAuthentication(AuthenticationOptions newAuthentication) {
    return new CaServerOptions(trustDomain, dir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint, dnsNames,
        newAuthentication,
        rotationPeriod, rotationLeadTime, reloadInterval);
  }

  public CaServerOptions withDnsNames(Map<String, List<String>> newDnsNames) {
    return new CaServerOptions(trustDomain, dir, keyType, host, port, bundlePort, defaultTtl, maxTtl, backdate,
        caValidity, serverDnsNames, serverSpiffeId, servingTtl, tlsCertFile, tlsKeyFile, bundleRefreshHint,
        newDnsNames, authentication,
        rotationPeriod, rotationLeadTime, reloadInterval);
  }

  /**
   * How callers of the Istio CA API prove who they are, after a client certificate from this CA
   * (which always counts): a Kubernetes service-account token in {@code authorization: Bearer},
   * checked by the cluster its {@code ClusterID} metadata names.
   *
   * @param audiences the token audiences accepted (istiod's {@code TOKEN_AUDIENCES}, default {@code istio-ca})
   * @param primaryCluster the cluster of a call without {@code ClusterID} metadata (istiod's
   *     {@code CLUSTER_ID}, default {@code Kubernetes})
   * @param clusters how each cluster's tokens are checked, by cluster ID
   * @param trustedNodeAccounts the service accounts, as {@code namespace/name}, that may ask for
   *     a certificate of another identity with {@code ImpersonatedIdentity} (ztunnel does; istiod's
   *     {@code CA_TRUSTED_NODE_ACCOUNTS})
   */
  public record AuthenticationOptions(
      List<String> audiences, @NotBlank String primaryCluster, Map<String, ClusterOptions> clusters,
      List<String> trustedNodeAccounts) {

    public static final String DEFAULT_AUDIENCE = "istio-ca";
    public static final String DEFAULT_PRIMARY_CLUSTER = "Kubernetes";
    /** No cluster: only client certificates from this CA authenticate. */
    public static final AuthenticationOptions DEFAULTS = new AuthenticationOptions(List.of(DEFAULT_AUDIENCE),
        DEFAULT_PRIMARY_CLUSTER, Map.of(), List.of());

    public AuthenticationOptions {
      audiences = List.copyOf(audiences);
      if (audiences.isEmpty()) {
        throw new IllegalArgumentException("audiences must not be empty (istio-agent's tokens are for istio-ca)");
      }
      Objects.requireNonNull(primaryCluster, "primaryCluster");
      clusters = Collections.unmodifiableMap(new TreeMap<>(clusters));
      trustedNodeAccounts = List.copyOf(trustedNodeAccounts);
    }
  }

  /**
   * How one cluster's service-account tokens are checked: exactly one of the two.
   *
   * @param tokenReview through the cluster's Kubernetes API ({@code TokenReview}), as istiod does
   * @param jwks offline, against the cluster's service-account issuer and its keys
   */
  public record ClusterOptions(TokenReviewOptions tokenReview, JwksOptions jwks) {
    /** Neither; a cluster given this way is refused at start, naming the two keys. */
    public static final ClusterOptions DEFAULTS = new ClusterOptions(null, null);

    public ClusterOptions {
      if (tokenReview != null && jwks != null) {
        throw new IllegalArgumentException("set one of token_review and jwks, not both");
      }
    }
  }

  /**
   * A Kubernetes API to send {@code TokenReview}s to. The defaults are a pod's in-cluster view, so
   * {@code token_review: {}} works inside Kubernetes.
   *
   * @param url the API server, {@code https} only
   * @param caFile the CA bundle the API server's certificate chains to
   * @param tokenFile the reviewer's own token (its service account may create tokenreviews);
   *     re-read on every review, since projected tokens rotate
   * @param timeout for one review, connection included
   */
  public record TokenReviewOptions(
      @NotBlank String url, Path caFile, Path tokenFile, @Range(min = "100ms", max = "1m") Duration timeout) {
    public static final TokenReviewOptions DEFAULTS = new TokenReviewOptions("https://kubernetes.default.svc",
        Path.of("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"),
        Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token"), Duration.ofSeconds(5));

    public TokenReviewOptions {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(caFile, "caFile");
      Objects.requireNonNull(tokenFile, "tokenFile");
      Objects.requireNonNull(timeout, "timeout");
      if (!url.startsWith("https://")) {
        throw new IllegalArgumentException("url must be https://, found \"" + url + "\"");
      }
    }
  }

  /**
   * Offline checks of tokens: signed by a key of the JWK Set in {@code file}, issued by
   * {@code issuer} (the cluster's {@code --service-account-issuer}).
   */
  public record JwksOptions(Path file, @NotBlank String issuer) {
    public JwksOptions {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(issuer, "issuer");
    }
  }
}

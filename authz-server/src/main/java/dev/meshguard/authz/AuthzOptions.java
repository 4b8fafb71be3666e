package dev.meshguard.authz;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import dev.meshguard.core.tls.DecisionTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code authz:} section of a meshguard config file (snake_case keys), read by
 * {@code meshguard authz} and {@code meshguard up}:
 * <pre>{@code
 * authz:
 *   policies: [policies/authz]          # files and directories of AuthorizationPolicy YAML
 *   mesh_config: mesh-config.yaml       # Istio MeshConfig (root namespace, trust domain, providers)
 *   host: 127.0.0.1
 *   port: 9191                          # gRPC ext_authz (envoy.service.auth.v3.Authorization)
 *   http_port: 9192                     # the HTTP service mode; 0: a free port, -1: off
 *   reload_interval: 2s
 *   workload_registry: workloads.yaml   # pod IPs / CIDRs -> namespace, labels, service account
 *   default_namespace: ""               # namespace of a workload nothing resolves; empty: deny
 *   deny_status: 403
 *   deny_body: "RBAC: access denied"
 *   fail_open: false                    # an internal error allows (true) or denies (false)
 *   headers_to_add: {x-meshguard-principal: principal, x-meshguard-tenant: "claim:tenant"}
 *   headers_to_remove: [authorization]
 *   metadata: {tenant: "header:x-tenant"}   # dynamic_metadata besides decision_id and policy
 *   audit_allow_sample_rate: 0.01       # share of allowed requests written to the audit log
 *   trust_bundle: root-cert.pem         # verifies source.certificate (include_peer_certificate)
 *   limits: {max_headers: 200, max_header_bytes: 65536, max_path_bytes: 8192, max_request_bytes: 1048576}
 *   tls: {cert_file: ..., key_file: ..., trust_bundle_file: ..., allowed_peers: [spiffe://cluster.local/ns/istio-system/*]}
 *   start_without_policies: false
 *   http_path_prefix: /authz            # HTTP mode: GET /authz/api/x decides GET /api/x
 *   http_identity_header: ""            # HTTP mode: header carrying the caller's SPIFFE ID (trusted!)
 *   trust_xfcc: false                   # HTTP mode: source.principal from x-forwarded-client-cert
 *   http_workload_headers: false        # HTTP mode: the workload from x-meshguard-namespace/-labels (trusted!)
 *   bundle: https://bundles.example/authz.zip  # or a bundle directory / ZIP file; replaces policies
 *   bundle_key: bundle-signing.pub.pem  # required with bundle: the signature must verify
 *   bundle_poll_interval: 30s           # URL only: conditional GET (If-None-Match)
 *   bundle_ca: bundle-server-ca.pem     # URL only: CAs the server must chain to (default: JDK trust store)
 *   bundle_allow_http: false            # URL only: plain http is refused unless this is true
 *   jwt: {jwks_timeout: 5s, jwks_cache_ttl: 20m, jwks_stale_if_error: 24h, jwks_min_refresh_interval: 10s, clock_skew: 60s}
 *   custom_provider_tls:                # TLS to CUSTOM providers (mesh config extensionProviders), by name
 *     ext-authz: {ca_certificates: provider-ca.pem, client_certificate: mg.pem, private_key: mg-key.pem}
 *     mesh-authz: {ca_certificates: root-cert.pem, spiffe_id: spiffe://cluster.local/ns/authz/sa/ext-authz}
 *     by-ip: {ca_certificates: provider-ca.pem, server_name: authz.example.com}
 * }</pre>
 *
 * <p>Values of {@code headers_to_add} and {@code metadata} name where the value comes from (see
 * {@link ValueSource}): {@code principal}, {@code namespace}, {@code policy}, {@code decision_id},
 * {@code source_ip}, {@code header:NAME}, {@code claim:NAME} (the verified JWT payload, dotted
 * path), {@code literal:TEXT}. A value that is absent for a request is left out.
 *
 * @param policies policy files and directories; required
 * @param meshConfig the Istio MeshConfig YAML; null for Istio's defaults
 * @param host the gRPC bind address
 * @param port the gRPC port; 0 picks a free one
 * @param httpPort the HTTP service mode's port (Envoy {@code http_service}, nginx {@code auth_request},
 *     Traefik forward-auth); 0 picks a free one, -1 turns the mode off
 * @param reloadInterval how often the policy files, mesh config, registry and trust bundle are polled
 * @param workloadRegistry the workload registry YAML ({@link WorkloadRegistry}); null for none
 * @param defaultNamespace the namespace of a request whose workload nothing resolves; empty
 *     denies such requests
 * @param denyStatus the HTTP status of a denied request (Envoy's {@code denied_response.status})
 * @param denyBody the body of a denied request
 * @param failOpen whether an internal error allows the request (it is counted either way)
 * @param headersToAdd upstream request headers set on allow (overwrite: {@code append=false})
 * @param headersToRemove upstream request headers removed on allow
 * @param metadata dynamic metadata entries besides {@code decision_id} and {@code policy}
 * @param auditAllowSampleRate the share of allowed requests audited (denies always are)
 * @param trustBundle CA certificates that {@code source.certificate} must chain to; null: the
 *     certificate's URI SAN is still compared with {@code source.principal}, its chain is not checked
 * @param limits budgets on untrusted input
 * @param tls mTLS on the decision port; null for plaintext
 * @param startWithoutPolicies serve (NOT_SERVING, denying every request) when the policies do not
 *     load at start, instead of refusing to start
 * @param httpPathPrefix the HTTP service mode decides the request line's path after this prefix
 *     ({@code GET /authz/api/x} decides {@code GET /api/x}); a request at the prefix itself is
 *     decided from {@code X-Original-URI}/{@code X-Original-Method} (nginx) or
 *     {@code X-Forwarded-Uri/Method/Host/Proto} (Traefik); empty: the whole request line
 * @param httpIdentityHeader a header the proxy sets from the peer certificate's URI SAN (e.g. a
 *     SPIFFE ID), read as {@code source.principal} in the HTTP service mode; empty: none. Only set it
 *     when the proxy overwrites the header on every request: a client could send it otherwise
 * @param trustXfcc whether the HTTP service mode reads {@code source.principal} from Envoy's
 *     {@code x-forwarded-client-cert} ({@code URI=} of its last element); the same caveat applies
 * @param httpWorkloadHeaders whether the HTTP service mode takes the workload the request is for
 *     from {@code x-meshguard-namespace} and {@code x-meshguard-labels} ({@code k=v,k=v}), as the
 *     gRPC mode takes it from Envoy's per-route {@code context_extensions}: the proxy sets them per
 *     location (nginx {@code proxy_set_header} in the {@code auth_request} location). Off by default,
 *     with the same caveat; when off or absent, {@code default_namespace} names the workload
 * @param bundle a signed policy bundle to load instead of {@code policies}: a bundle directory, a
 *     ZIP file of one, or an {@code https://} URL serving the ZIP; null for none
 * @param bundleKey the public key (PEM) a bundle's signature must verify with; required with
 *     {@code bundle}
 * @param bundlePollInterval how often a bundle URL is polled ({@code If-None-Match}); a local
 *     bundle is watched at {@code reload_interval}
 * @param bundleCa CA certificates (PEM) the bundle URL's server must chain to; null: the JDK's
 *     default trust store
 * @param bundleAllowHttp accept a plain {@code http://} bundle URL (the signature is still checked)
 * @param jwt how {@code RequestAuthentication} is enforced here (JWKS fetching and caching, clock
 *     skew); null for {@link JwtOptions#DEFAULTS}
 * @param customProviderTls TLS (and mTLS) to CUSTOM providers, by the provider's name in the mesh
 *     config's {@code extensionProviders}: meshguard's own setting, since Istio's provider entries
 *     have no TLS fields (Istio takes TLS to a provider from a DestinationRule); a provider not
 *     named here is called in plaintext. The files are watched at {@code reload_interval}. Empty by default
 */
public record AuthzOptions(
    List<Path> policies,
    Path meshConfig,
    @NotBlank String host,
    @Range(min = "0", max = "65535") int port,
    @Range(min = "-1", max = "65535") int httpPort,
    @Range(min = "10ms", max = "1h") Duration reloadInterval,
    Path workloadRegistry,
    String defaultNamespace,
    @Range(min = "200", max = "599") int denyStatus,
    String denyBody,
    boolean failOpen,
    Map<String, String> headersToAdd,
    List<String> headersToRemove,
    Map<String, String> metadata,
    @Range(min = "0", max = "1") double auditAllowSampleRate,
    Path trustBundle,
    InputLimits limits,
    DecisionTls tls,
    boolean startWithoutPolicies,
    String httpPathPrefix,
    String httpIdentityHeader,
    boolean trustXfcc,
    boolean httpWorkloadHeaders,
    String bundle,
    Path bundleKey,
    @Range(min = "1s", max = "24h") Duration bundlePollInterval,
    Path bundleCa,
    boolean bundleAllowHttp,
    JwtOptions jwt,
    Map<String, ProviderTls> customProviderTls) {

  public static final Path DEFAULT_POLICIES = Path.of("policies", "authz");
  public static final String DEFAULT_HOST = "127.0.0.1";
  /** The port Istio's examples and OPA-Envoy use for ext_authz gRPC. */
  public static final int DEFAULT_PORT = 9191;
  public static final int DEFAULT_HTTP_PORT = 9192;
  /** {@link #httpPort()} value that turns the HTTP service mode off. */
  public static final int HTTP_DISABLED = -1;
  /** Where the HTTP service mode expects the original request line: {@code GET /authz/api/x} decides {@code GET /api/x}. */
  public static final String DEFAULT_HTTP_PATH_PREFIX = "/authz";
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(2);
  /** What Envoy's RBAC filter answers, so a deny looks the same with or without meshguard. */
  public static final String DEFAULT_DENY_BODY = "RBAC: access denied";
  public static final int DEFAULT_DENY_STATUS = 403;
  /** How often a bundle URL is asked whether it changed (a conditional GET, cheap when it did not). */
  public static final Duration DEFAULT_BUNDLE_POLL_INTERVAL = Duration.ofSeconds(30);

  /** Every setting at its default; {@link #builder()} starts from these. */
  public static final AuthzOptions DEFAULTS = new Builder().build();

  public AuthzOptions {
    policies = List.copyOf(policies);
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
    defaultNamespace = defaultNamespace == null ? "" : defaultNamespace;
    denyBody = denyBody == null ? "" : denyBody;
    headersToAdd = Collections.unmodifiableMap(new TreeMap<>(headersToAdd));
    headersToRemove = List.copyOf(headersToRemove);
    metadata = Collections.unmodifiableMap(new TreeMap<>(metadata));
    limits = limits == null ? InputLimits.DEFAULTS : limits;
    jwt = jwt == null ? JwtOptions.DEFAULTS : jwt;
    customProviderTls = customProviderTls == null ? Map.of()
        : Collections.unmodifiableMap(new TreeMap<>(customProviderTls));
    bundle = bundle == null || bundle.isBlank() ? null : bundle.strip();
    bundlePollInterval = bundlePollInterval == null ? DEFAULT_BUNDLE_POLL_INTERVAL : bundlePollInterval;
    if (bundlePollInterval.isNegative() || bundlePollInterval.isZero()) {
      throw new IllegalArgumentException("bundlePollInterval must be positive, found " + bundlePollInterval);
    }
    if (policies.isEmpty()) {
      throw new IllegalArgumentException("policies must name at least one file or directory");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, found " + port);
    }
    if (httpPort < HTTP_DISABLED || httpPort > 65535) {
      throw new IllegalArgumentException("httpPort must be between -1 (off) and 65535, found " + httpPort);
    }
    httpPathPrefix = httpPathPrefix == null ? "" : httpPathPrefix;
    if (httpPathPrefix.endsWith("/")) {
      httpPathPrefix = httpPathPrefix.substring(0, httpPathPrefix.length() - 1);
    }
    if (!httpPathPrefix.isEmpty() && (!httpPathPrefix.startsWith("/") || httpPathPrefix.contains("?"))) {
      throw new IllegalArgumentException("httpPathPrefix must be empty or a path starting with /, found \""
          + httpPathPrefix + "\"");
    }
    httpIdentityHeader = httpIdentityHeader == null ? "" : httpIdentityHeader.toLowerCase(java.util.Locale.ROOT);
    if (!httpIdentityHeader.isEmpty()) {
      HeaderNames.check("http_identity_header", httpIdentityHeader);
    }
    if (reloadInterval.isNegative() || reloadInterval.isZero()) {
      throw new IllegalArgumentException("reloadInterval must be positive, found " + reloadInterval);
    }
    if (denyStatus < 200 || denyStatus > 599) {
      throw new IllegalArgumentException("denyStatus must be an HTTP status, found " + denyStatus);
    }
    if (!(auditAllowSampleRate >= 0 && auditAllowSampleRate <= 1)) {
      throw new IllegalArgumentException("auditAllowSampleRate must be between 0 and 1, found " + auditAllowSampleRate);
    }
    for (Map.Entry<String, String> e : headersToAdd.entrySet()) {
      HeaderNames.check("headers_to_add", e.getKey());
      ValueSource.parse(e.getValue()); // throws IllegalArgumentException naming the value
    }
    for (String name : headersToRemove) {
      HeaderNames.check("headers_to_remove", name);
    }
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (e.getKey().equals(AuthzService.DECISION_ID) || e.getKey().equals(AuthzService.POLICY)) {
        throw new IllegalArgumentException("metadata key \"" + e.getKey() + "\" is always set by the server");
      }
      ValueSource.parse(e.getValue());
    }
  }

  /** A builder holding the defaults ({@link #DEFAULTS}). */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Builds {@link AuthzOptions}; setters only record values, {@link #build()} validates them all
   * (the record's constructor, which the config file goes through too). A setter's meaning is
   * that of the record component of the same name.
   */
  public static final class Builder {
    private List<Path> policies = List.of(DEFAULT_POLICIES);
    private Path meshConfig;
    private String host = DEFAULT_HOST;
    private int port = DEFAULT_PORT;
    private int httpPort = DEFAULT_HTTP_PORT;
    private Duration reloadInterval = DEFAULT_RELOAD_INTERVAL;
    private Path workloadRegistry;
    private String defaultNamespace = "";
    private int denyStatus = DEFAULT_DENY_STATUS;
    private String denyBody = DEFAULT_DENY_BODY;
    private boolean failOpen;
    private Map<String, String> headersToAdd = Map.of();
    private List<String> headersToRemove = List.of();
    private Map<String, String> metadata = Map.of();
    private double auditAllowSampleRate;
    private Path trustBundle;
    private InputLimits limits = InputLimits.DEFAULTS;
    private DecisionTls tls;
    private boolean startWithoutPolicies;
    private String httpPathPrefix = DEFAULT_HTTP_PATH_PREFIX;
    private String httpIdentityHeader = "";
    private boolean trustXfcc;
    private boolean httpWorkloadHeaders;
    private String bundle;
    private Path bundleKey;
    private Duration bundlePollInterval = DEFAULT_BUNDLE_POLL_INTERVAL;
    private Path bundleCa;
    private boolean bundleAllowHttp;
    private JwtOptions jwt;
    private Map<String, ProviderTls> customProviderTls = Map.of();

    private Builder() {}

    private Builder(AuthzOptions o) {
      policies = o.policies;
      meshConfig = o.meshConfig;
      host = o.host;
      port = o.port;
      httpPort = o.httpPort;
      reloadInterval = o.reloadInterval;
      workloadRegistry = o.workloadRegistry;
      defaultNamespace = o.defaultNamespace;
      denyStatus = o.denyStatus;
      denyBody = o.denyBody;
      failOpen = o.failOpen;
      headersToAdd = o.headersToAdd;
      headersToRemove = o.headersToRemove;
      metadata = o.metadata;
      auditAllowSampleRate = o.auditAllowSampleRate;
      trustBundle = o.trustBundle;
      limits = o.limits;
      tls = o.tls;
      startWithoutPolicies = o.startWithoutPolicies;
      httpPathPrefix = o.httpPathPrefix;
      httpIdentityHeader = o.httpIdentityHeader;
      trustXfcc = o.trustXfcc;
      httpWorkloadHeaders = o.httpWorkloadHeaders;
      bundle = o.bundle;
      bundleKey = o.bundleKey;
      bundlePollInterval = o.bundlePollInterval;
      bundleCa = o.bundleCa;
      bundleAllowHttp = o.bundleAllowHttp;
      jwt = o.jwt;
      customProviderTls = o.customProviderTls;
    }

    public Builder policies(List<Path> value) {
      policies = value;
      return this;
    }

    public Builder meshConfig(Path value) {
      meshConfig = value;
      return this;
    }

    public Builder host(String value) {
      host = value;
      return this;
    }

    /** @param value 0 picks a free port */
    public Builder port(int value) {
      port = value;
      return this;
    }

    /** @param value 0 picks a free port, {@link #HTTP_DISABLED} turns the HTTP service mode off */
    public Builder httpPort(int value) {
      httpPort = value;
      return this;
    }

    public Builder reloadInterval(Duration value) {
      reloadInterval = value;
      return this;
    }

    public Builder workloadRegistry(Path value) {
      workloadRegistry = value;
      return this;
    }

    public Builder defaultNamespace(String value) {
      defaultNamespace = value;
      return this;
    }

    public Builder denyStatus(int value) {
      denyStatus = value;
      return this;
    }

    public Builder denyBody(String value) {
      denyBody = value;
      return this;
    }

    public Builder failOpen(boolean value) {
      failOpen = value;
      return this;
    }

    public Builder headersToAdd(Map<String, String> value) {
      headersToAdd = value;
      return this;
    }

    public Builder headersToRemove(List<String> value) {
      headersToRemove = value;
      return this;
    }

    public Builder metadata(Map<String, String> value) {
      metadata = value;
      return this;
    }

    public Builder auditAllowSampleRate(double value) {
      auditAllowSampleRate = value;
      return this;
    }

    public Builder trustBundle(Path value) {
      trustBundle = value;
      return this;
    }

    public Builder limits(InputLimits value) {
      limits = value;
      return this;
    }

    public Builder tls(DecisionTls value) {
      tls = value;
      return this;
    }

    public Builder startWithoutPolicies(boolean value) {
      startWithoutPolicies = value;
      return this;
    }

    public Builder httpPathPrefix(String value) {
      httpPathPrefix = value;
      return this;
    }

    public Builder httpIdentityHeader(String value) {
      httpIdentityHeader = value;
      return this;
    }

    public Builder trustXfcc(boolean value) {
      trustXfcc = value;
      return this;
    }

    public Builder httpWorkloadHeaders(boolean value) {
      httpWorkloadHeaders = value;
      return this;
    }

    /** @param value a bundle directory, a ZIP file of one, or an {@code https://} URL of the ZIP; null for none */
    public Builder bundle(String value) {
      bundle = value;
      return this;
    }

    public Builder bundleKey(Path value) {
      bundleKey = value;
      return this;
    }

    public Builder bundlePollInterval(Duration value) {
      bundlePollInterval = value;
      return this;
    }

    public Builder bundleCa(Path value) {
      bundleCa = value;
      return this;
    }

    public Builder bundleAllowHttp(boolean value) {
      bundleAllowHttp = value;
      return this;
    }

    public Builder jwt(JwtOptions value) {
      jwt = value;
      return this;
    }

    /** TLS to the CUSTOM providers, by provider name ({@link ProviderTls}); providers not named stay plaintext. */
    public Builder customProviderTls(Map<String, ProviderTls> value) {
      customProviderTls = value;
      return this;
    }

    /**
     * The options, validated.
     *
     * @throws IllegalArgumentException when a value is out of range or malformed (naming it)
     * @throws NullPointerException when a required value is null
     */
    public AuthzOptions build() {
      return new AuthzOptions(policies, meshConfig, host, port, httpPort, reloadInterval, workloadRegistry,
          defaultNamespace, denyStatus, denyBody, failOpen, headersToAdd, headersToRemove, metadata,
          auditAllowSampleRate, trustBundle, limits, tls, startWithoutPolicies, httpPathPrefix, httpIdentityHeader,
          trustXfcc, httpWorkloadHeaders, bundle, bundleKey, bundlePollInterval, bundleCa, bundleAllowHttp, jwt,
          customProviderTls);
    }
  }

  /**
   * Budgets on a CheckRequest, which carries whatever the client sent Envoy. A request over one is
   * denied with a reason naming the limit (never an RPC error); a message larger than
   * {@link #maxRequestBytes()} twice over is refused by gRPC itself ({@code RESOURCE_EXHAUSTED}).
   *
   * @param maxHeaders headers (after Envoy joined repeats)
   * @param maxHeaderBytes names and values together
   * @param maxPathBytes the {@code :path}, query included
   * @param maxRequestBytes the serialized CheckRequest
   */
  public record InputLimits(
      @Range(min = "1") int maxHeaders,
      @Range(min = "1") int maxHeaderBytes,
      @Range(min = "1") int maxPathBytes,
      @Range(min = "1024", max = "67108864") int maxRequestBytes) {

    /**
     * Above Envoy's own defaults (100 headers, 60 KiB), so that what Envoy accepted is not refused
     * here unless configured so; pseudo-headers and Envoy's own {@code x-envoy-*} headers count too.
     */
    public static final InputLimits DEFAULTS = new InputLimits(200, 96 * 1024, 16 * 1024, 1 << 20);

    public InputLimits {
      if (maxHeaders < 1 || maxHeaderBytes < 1 || maxPathBytes < 1 || maxRequestBytes < 1024) {
        throw new IllegalArgumentException("input limits must be positive (max_request_bytes at least 1024)");
      }
    }
  }
}

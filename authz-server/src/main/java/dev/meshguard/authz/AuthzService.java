package dev.meshguard.authz;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.DryRunResult;
import dev.meshguard.policy.ExtensionProvider;
import dev.meshguard.policy.InvalidRequestException;
import dev.meshguard.policy.IpAddress;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.RequestAttributes;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * {@code envoy.service.auth.v3.Authorization/Check}: one CheckRequest, one decision
 * (extauthz.md §1).
 *
 * <h2>Protocol</h2>
 * Every answer is a successful RPC. Allow: {@code status} OK, {@code ok_response} with the
 * configured headers to add (overwrite: {@code append=false}, because Envoy drops an
 * {@code append=true} header that is not already present) and to remove. Deny:
 * {@code status} PERMISSION_DENIED (7) with the reason as its message, and for HTTP a
 * {@code denied_response} (403, {@code RBAC: access denied}, both configurable). A deny is never
 * an RPC error: Envoy treats RPC errors as errors, which fail open under
 * {@code failure_mode_allow}. {@code dynamic_metadata} is set on every answer: {@code decision_id}
 * (the id of the audit event, when there is one), {@code policy} (the deciding policy, or empty)
 * and the configured entries.
 *
 * <h2>Steps</h2>
 * <ol>
 *   <li>no policies loaded: deny (health is NOT_SERVING meanwhile);
 *   <li>input limits (header count and bytes, path length, request size): deny naming the limit;
 *   <li>the workload: {@code context_extensions} {@code namespace}/{@code labels}; else the
 *       workload registry by {@code destination.address}; else the namespace of
 *       {@code destination.principal}; else the configured default namespace; else deny, saying so;
 *   <li>{@code source.certificate}, when sent: it must verify and its URI SAN equal
 *       {@code source.principal}, else deny;
 *   <li>RequestAuthentication ({@link JwtAuthenticator}), unless Envoy's jwt_authn already sent a
 *       verified payload: an invalid token answers 401 (gRPC UNAUTHENTICATED), a valid one becomes
 *       the request's JWT payload and adds its upstream headers on allow;
 *   <li>the policy engine's decision (CUSTOM, DENY, ALLOW; AUDIT and dry-run alongside);
 *   <li>metrics, and the audit record for denies, AUDIT matches, dry-run mismatches and sampled allows.
 * </ol>
 * An unexpected exception anywhere answers with the failure mode (deny unless {@code fail_open})
 * and is counted. Nothing here logs or throws.
 */
final class AuthzService extends AuthorizationGrpc.AuthorizationImplBase {

  static final String DECISION_ID = "decision_id";
  static final String POLICY = "policy";
  static final String COMPONENT = "authz";
  static final int PERMISSION_DENIED = io.grpc.Status.Code.PERMISSION_DENIED.value();

  /** What the service reads per request; replaced as a whole by the server. */
  record Live(PolicySnapshot snapshot, WorkloadRegistry registry, PeerCertificates certificates) {}

  /** Decides CUSTOM providers for one request; the default fails each provider by its failure mode. */
  @FunctionalInterface
  interface CustomProviders {
    CustomDecider forRequest(CheckRequest request, MeshConfig mesh);

    /** No provider is reachable from here: each answers with its {@code failOpen}. */
    CustomProviders UNAVAILABLE = (request, mesh) -> provider -> {
      ExtensionProvider p = mesh.extensionProviders().get(provider);
      return p != null && p.failOpen();
    };
  }

  private final AuthzOptions options;
  private final Supplier<Live> live;
  private final Clock clock;
  private final AuthzMetrics metrics;
  private final DecisionAudit audit;
  private final CustomProviders custom;
  private final List<Map.Entry<String, ValueSource>> headersToAdd;
  private final List<Map.Entry<String, ValueSource>> metadata;
  private final HttpStatus denyStatus;
  private final JwtAuthenticator jwt;

  /** @param jwksTls the TLS of {@code https} JWKS fetches (the server's {@code Crypto}) */
  AuthzService(AuthzOptions options, Supplier<Live> live, Clock clock, AuthzMetrics metrics, DecisionAudit audit,
      CustomProviders custom, JwtOptions jwtOptions, ClientTls jwksTls) {
    this.jwt = new JwtAuthenticator(new JwksCache(jwtOptions, clock, metrics, jwksTls), jwtOptions, clock);
    this.options = options;
    this.live = live;
    this.clock = clock;
    this.metrics = metrics;
    this.audit = audit;
    this.custom = custom;
    this.headersToAdd = parse(options.headersToAdd());
    this.metadata = parse(options.metadata());
    StatusCode code = StatusCode.forNumber(options.denyStatus());
    this.denyStatus = HttpStatus.newBuilder().setCode(code == null ? StatusCode.Forbidden : code).build();
  }

  private static List<Map.Entry<String, ValueSource>> parse(Map<String, String> config) {
    List<Map.Entry<String, ValueSource>> out = new ArrayList<>();
    config.forEach((k, v) -> out.add(Map.entry(k, ValueSource.parse(v))));
    return List.copyOf(out);
  }

  /** Starts fetching the JWKS of {@code snapshot}'s RequestAuthentications, without waiting. */
  void prefetchJwks(PolicySnapshot snapshot) {
    jwt.prefetch(snapshot.engine());
  }

  @Override
  public void check(CheckRequest request, StreamObserver<CheckResponse> responseObserver) {
    responseObserver.onNext(decide(request));
    responseObserver.onCompleted();
  }

  /** The answer to one request. Never throws. */
  CheckResponse decide(CheckRequest request) {
    long start = clock.nanoTime();
    String decisionId = EventIds.next(clock);
    try {
      return decideOrThrow(request, start, decisionId);
    } catch (RuntimeException | StackOverflowError e) {
      metrics.internalError();
      boolean allow = options.failOpen();
      metrics.decision(allow, null, clock.nanoTime() - start);
      String reason = "internal error (" + e.getClass().getSimpleName() + "); failure mode "
          + (allow ? "allows" : "denies");
      return bare(allow, reason, decisionId, request.getAttributes().getRequest().hasHttp());
    }
  }

  /**
   * Denies {@code request} without consulting the policies, counted and audited like any early
   * deny: the HTTP service mode's refusals of what it cannot translate (malformed or oversized
   * HTTP, no original request named). {@code limit}, when not null, is counted in
   * {@code meshguard_authz_input_rejected_total}. Never throws.
   */
  CheckResponse refuse(CheckRequest request, String reason, String limit) {
    long start = clock.nanoTime();
    String decisionId = EventIds.next(clock);
    try {
      if (limit != null) {
        metrics.inputRejected(limit);
      }
      return early(request, start, decisionId, true, reason);
    } catch (RuntimeException e) {
      metrics.internalError();
      return bare(false, reason, decisionId, true);
    }
  }

  private CheckResponse decideOrThrow(CheckRequest request, long start, String decisionId) {
    Live state = live.get();
    AttributeContext a = request.getAttributes();
    boolean http = a.hasRequest() && a.getRequest().hasHttp();
    if (state == null || state.snapshot() == null) {
      return early(request, start, decisionId, http, "no policies loaded yet");
    }
    String over = overLimit(request, a, http);
    if (over != null) {
      return early(request, start, decisionId, http, "input limit exceeded: " + over);
    }

    MeshConfig mesh = state.snapshot().engine().meshConfig();
    RequestAttributes attributes;
    try {
      attributes = attributes(request, a, mesh, state.registry());
    } catch (InvalidRequestException e) {
      return early(request, start, decisionId, http, "invalid request: " + e.getMessage());
    }
    if (attributes == null) {
      metrics.resolutionFailure();
      String address = destinationAddress(a);
      return early(request, start, decisionId, http, "workload unresolved: no context_extensions namespace, "
          + "destination.address " + (address.isEmpty() ? "(none)" : address) + " is not in the workload registry, "
          + "and destination.principal names no namespace");
    }

    String certificate = a.getSource().getCertificate();
    if (!certificate.isEmpty() && state.certificates() != null) {
      String problem = state.certificates().check(certificate, a.getSource().getPrincipal());
      if (problem != null) {
        metrics.certificateRejected();
        return finish(request, attributes, null, start, decisionId, http, "peer identity rejected: " + problem,
            state.snapshot().revision());
      }
    }

    JwtAuthenticator.Result authn = jwt.authenticate(state.snapshot().engine(), attributes);
    if (authn.rejected()) {
      metrics.jwtRejected();
      return authn.onReject(finish(request, attributes, null, start, decisionId, http,
          "request authentication failed: " + authn.failure(), state.snapshot().revision()));
    }
    attributes = authn.attributes();

    CustomDecider decider = custom.forRequest(request, mesh);
    Decision decision = state.snapshot().engine().evaluate(attributes, decider);
    CheckResponse response = finish(request, attributes, decision, start, decisionId, http, null,
        state.snapshot().revision());
    // The CUSTOM providers' own answers (headers, deny status and body) pass through, as in Envoy.
    response = decider instanceof CustomCall call ? call.apply(response, decision) : response;
    return authn.onAllow(response);
  }

  /**
   * The request's attributes with the workload resolved in the documented order; null when
   * nothing resolves it.
   */
  private RequestAttributes attributes(CheckRequest request, AttributeContext a, MeshConfig mesh,
      WorkloadRegistry registry) throws InvalidRequestException {
    String namespace = a.getContextExtensionsMap().get("namespace");
    if (namespace != null && !namespace.isEmpty()) {
      return CheckRequestAttributes.from(request, mesh);
    }
    if (registry != null) {
      IpAddress destination = IpAddress.parse(destinationAddress(a)).orElse(null);
      WorkloadRegistry.Resolved hit = registry.lookup(destination);
      if (hit != null) {
        return CheckRequestAttributes.from(withWorkload(request, hit.workload().namespace(),
            hit.workload().labels()), mesh);
      }
    }
    if (!a.getDestination().getPrincipal().isEmpty()) {
      return CheckRequestAttributes.from(request, mesh);
    }
    if (!options.defaultNamespace().isEmpty()) {
      return CheckRequestAttributes.from(withWorkload(request, options.defaultNamespace(),
          a.getDestination().getLabelsMap()), mesh);
    }
    return null;
  }

  /** The request with the workload given as context extensions, so the one attribute builder applies. */
  private static CheckRequest withWorkload(CheckRequest request, String namespace, Map<String, String> labels) {
    StringBuilder text = new StringBuilder();
    new TreeMap<>(labels).forEach((k, v) -> text.append(text.isEmpty() ? "" : ",").append(k).append('=').append(v));
    CheckRequest.Builder b = request.toBuilder();
    b.getAttributesBuilder().putContextExtensions("namespace", namespace).putContextExtensions("labels",
        text.toString());
    return b.build();
  }

  private static String destinationAddress(AttributeContext a) {
    return a.getDestination().getAddress().getSocketAddress().getAddress();
  }

  /** The first limit {@code request} exceeds, or null. */
  private String overLimit(CheckRequest request, AttributeContext a, boolean http) {
    AuthzOptions.InputLimits limits = options.limits();
    if (request.getSerializedSize() > limits.maxRequestBytes()) {
      metrics.inputRejected("request_bytes");
      return "the CheckRequest is " + request.getSerializedSize() + " bytes, over max_request_bytes "
          + limits.maxRequestBytes();
    }
    if (!http) {
      return null;
    }
    AttributeContext.HttpRequest h = a.getRequest().getHttp();
    int count = h.getHeadersCount() > 0 ? h.getHeadersCount() : h.getHeaderMap().getHeadersCount();
    if (count > limits.maxHeaders()) {
      metrics.inputRejected("headers");
      return count + " headers, over max_headers " + limits.maxHeaders();
    }
    long bytes = 0;
    if (h.getHeadersCount() > 0) {
      for (Map.Entry<String, String> e : h.getHeadersMap().entrySet()) {
        bytes += utf8Length(e.getKey()) + utf8Length(e.getValue());
      }
    } else {
      for (HeaderValue hv : h.getHeaderMap().getHeadersList()) {
        bytes += utf8Length(hv.getKey()) + utf8Length(hv.getValue()) + hv.getRawValue().size();
      }
    }
    if (bytes > limits.maxHeaderBytes()) {
      metrics.inputRejected("header_bytes");
      return "headers of " + bytes + " bytes, over max_header_bytes " + limits.maxHeaderBytes();
    }
    String path = !h.getPath().isEmpty() ? h.getPath() : h.getHeadersOrDefault(":path", "");
    if (utf8Length(path) > limits.maxPathBytes()) {
      metrics.inputRejected("path_bytes");
      return "a path of " + utf8Length(path) + " bytes, over max_path_bytes " + limits.maxPathBytes();
    }
    return null;
  }

  /** The UTF-8 length of {@code s}, counted without encoding it (a lone surrogate counts 3, as '?' would be less). */
  static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isSurrogate(c)) {
        n += 2; // a pair is 4 bytes
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** A deny decided before the policies were consulted: counted, audited, answered. */
  private CheckResponse early(CheckRequest request, long start, String decisionId, boolean http, String reason) {
    long nanos = clock.nanoTime() - start;
    metrics.decision(false, null, nanos);
    AttributeContext a = request.getAttributes();
    AttributeContext.HttpRequest h = a.getRequest().getHttp();
    audit.record(new AuditEvent(clock.now(), decisionId, COMPONENT, "decision", "deny",
        new AuditEvent.Subject(emptyToNull(a.getSource().getPrincipal()), null,
            emptyToNull(a.getSource().getAddress().getSocketAddress().getAddress())),
        http ? new AuditEvent.AuditObject(null, cut(h.getHost()), cut(h.getMethod()),
            cut(JwtTokenExtractor.redactTokens(h.getPath())), null, null,
            null) : null,
        null, reason, nanos / 1000));
    return bare(false, reason, decisionId, http);
  }

  private CheckResponse bare(boolean allow, String reason, String decisionId, boolean http) {
    Struct meta = Struct.newBuilder()
        .putFields(DECISION_ID, string(decisionId))
        .putFields(POLICY, string(""))
        .build();
    CheckResponse.Builder b = CheckResponse.newBuilder().setDynamicMetadata(meta);
    if (allow) {
      b.setStatus(com.google.rpc.Status.newBuilder().setCode(0));
      if (http) {
        b.setOkResponse(OkHttpResponse.getDefaultInstance());
      }
    } else {
      b.setStatus(com.google.rpc.Status.newBuilder().setCode(PERMISSION_DENIED).setMessage(reason));
      if (http) {
        b.setDeniedResponse(denied());
      }
    }
    return b.build();
  }

  private DeniedHttpResponse denied() {
    return DeniedHttpResponse.newBuilder().setStatus(denyStatus).setBody(options.denyBody()).build();
  }

  /**
   * The answer to a request whose attributes are known: decision (or a refusal), metadata, headers, audit.
   *
   * <p>Added headers carry the deprecated {@code append=false} rather than {@code append_action}:
   * every Envoy honours it as "set, overwriting" (newer ones map it onto
   * OVERWRITE_IF_EXISTS_OR_ADD), while Envoys before {@code append_action} ignore that field and
   * would take an unset {@code append} as false anyway.
   */
  @SuppressWarnings("deprecation")
  private CheckResponse finish(CheckRequest request, RequestAttributes attributes, Decision decision, long start,
      String decisionId, boolean http, String refusal, String revision) {
    boolean allow = decision != null && decision.allowed();
    String policy = decision == null ? null : decision.policy();
    String reason = decision == null ? refusal : decision.reason();

    Struct.Builder meta = Struct.newBuilder()
        .putFields(DECISION_ID, string(decisionId))
        .putFields(POLICY, string(policy == null ? "" : policy));
    for (Map.Entry<String, ValueSource> e : metadata) {
      String v = e.getValue().value(attributes, policy, decisionId);
      if (v != null) {
        meta.putFields(e.getKey(), string(v));
      }
    }
    CheckResponse.Builder b = CheckResponse.newBuilder().setDynamicMetadata(meta);
    if (allow) {
      b.setStatus(com.google.rpc.Status.newBuilder().setCode(0));
      if (http) {
        OkHttpResponse.Builder ok = OkHttpResponse.newBuilder();
        for (Map.Entry<String, ValueSource> e : headersToAdd) {
          String v = e.getValue().value(attributes, policy, decisionId);
          if (v != null) {
            ok.addHeaders(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(e.getKey()).setValue(v))
                .setAppend(BoolValue.of(false)));
          }
        }
        ok.addAllHeadersToRemove(options.headersToRemove());
        b.setOkResponse(ok);
      }
    } else {
      b.setStatus(com.google.rpc.Status.newBuilder().setCode(PERMISSION_DENIED).setMessage(reason));
      if (http) {
        b.setDeniedResponse(denied());
      }
    }
    CheckResponse response = b.build();

    long nanos = clock.nanoTime() - start;
    metrics.decision(allow, policy, nanos);
    String why = auditReason(decision, allow, reason);
    if (why != null) {
      audit.record(event(attributes, decision, decisionId, allow, why, revision, nanos));
    }
    return response;
  }

  /** Why this decision is audited (its reason plus AUDIT and dry-run notes), or null when it is not. */
  private String auditReason(Decision decision, boolean allow, String reason) {
    boolean audited = !allow;
    StringBuilder sb = new StringBuilder(reason);
    if (decision != null) {
      if (!decision.audit().isEmpty()) {
        audited = true;
        sb.append("; audit: ").append(String.join(", ", decision.audit()));
      }
      for (DryRunResult d : decision.dryRun()) {
        if (d.decision() != decision.outcome()) {
          audited = true;
          sb.append("; dry-run mismatch: ").append(d.policy()).append(" would ")
              .append(d.decision() == dev.meshguard.policy.Outcome.ALLOW ? "allow" : "deny");
        }
      }
    }
    if (!audited && allow) {
      double rate = options.auditAllowSampleRate();
      audited = rate >= 1.0 || (rate > 0 && ThreadLocalRandom.current().nextDouble() < rate);
    }
    return audited ? sb.toString() : null;
  }

  private AuditEvent event(RequestAttributes attributes, Decision decision, String id,
      boolean allow, String reason, String revision, long nanos) {
    String requestPrincipal = null;
    if (attributes.jwtPayload() != null) {
      Value iss = attributes.jwtPayload().getFieldsMap().get("iss");
      Value sub = attributes.jwtPayload().getFieldsMap().get("sub");
      if (iss != null && sub != null) {
        requestPrincipal = iss.getStringValue() + "/" + sub.getStringValue();
      }
    }
    StringBuilder workload = new StringBuilder(attributes.workload().namespace());
    if (!attributes.workload().labels().isEmpty()) {
      workload.append(' ').append(new TreeMap<>(attributes.workload().labels()));
    }
    AuditEvent.AuditObject object = attributes.http() == null
        ? new AuditEvent.AuditObject(workload.toString(), null, null, null, null, null, null)
        : new AuditEvent.AuditObject(workload.toString(), cut(attributes.http().host()),
            cut(attributes.http().method()),
            cut(JwtTokenExtractor.redactTokens(attributes.http().path())), null, null, null);
    AuditEvent.PolicyRef ref = decision == null || decision.policy() == null
        ? new AuditEvent.PolicyRef(null, null, revision)
        : new AuditEvent.PolicyRef(decision.policy(), decision.rule() >= 0 ? Integer.toString(decision.rule()) : null,
            revision);
    return new AuditEvent(clock.now(), id, COMPONENT, "decision", allow ? "allow" : "deny",
        new AuditEvent.Subject(attributes.sourcePrincipal(), requestPrincipal,
            attributes.sourceIp() == null ? null : attributes.sourceIp().toString()),
        object, ref, reason, nanos / 1000);
  }

  /** Longer request values are cut in the audit record: they come from clients. */
  static final int MAX_AUDITED_VALUE = 1024;

  private static String cut(String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    return value.length() <= MAX_AUDITED_VALUE ? value : value.substring(0, MAX_AUDITED_VALUE) + "...";
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}

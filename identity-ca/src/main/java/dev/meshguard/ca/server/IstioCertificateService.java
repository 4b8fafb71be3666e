package dev.meshguard.ca.server;

import com.google.protobuf.Value;
import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.audit.EventIds;
import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.PemText;
import dev.meshguard.ca.Refusal;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateRequest;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateResponse;
import dev.meshguard.ca.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code /istio.v1.auth.IstioCertificateService/CreateCertificate}, as istio-agent and ztunnel call
 * it (istio/api {@code security/v1alpha1/ca.proto}; istiod's {@code security/pkg/server/ca/server.go}):
 *
 * <ol>
 *   <li>authenticate the caller ({@link Authenticator}); with {@code ImpersonatedIdentity} in the
 *       request metadata, a trusted node account names the identity to issue for;
 *   <li>issue under the CA's CSR policy for that identity: unlike istiod, which stamps the
 *       caller's identity whatever the CSR asks, a CSR for another identity is refused;
 *   <li>answer {@code cert_chain} with one PEM certificate per element, leaf first, root last
 *       (istio-agent wants at least two elements, ztunnel one certificate per element), and no
 *       {@code root_cert}, so the chain keeps its root;
 *   <li>record the issuance or the refusal in the audit log and the metrics.
 * </ol>
 *
 * An issuance the audit log does not accept is not answered with its certificate (INTERNAL): a
 * certificate nobody can account for is worse than a retry. Never throws; logs only internal
 * failures.
 */
final class IstioCertificateService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {
  private static final Logger LOG = Logger.getLogger(IstioCertificateService.class.getName());
  /** The request metadata key ztunnel sets (istio {@code pkg/security}: {@code ImpersonatedIdentity}). */
  static final String IMPERSONATED_IDENTITY = "ImpersonatedIdentity";
  static final String COMPONENT = "ca";

  private final RootRotation rotation;
  private final Authenticator authenticator;
  private final Clock clock;
  private final CaMetrics metrics;
  private final AuditLog audit;
  private final Durability durability;

  /** @param audit the audit log, or null for none */
  IstioCertificateService(RootRotation rotation, Authenticator authenticator, Clock clock, CaMetrics metrics,
      AuditLog audit, Durability durability) {
    this.rotation = rotation;
    this.authenticator = authenticator;
    this.clock = clock;
    this.metrics = metrics;
    this.audit = audit;
    this.durability = durability;
  }

  /** What one call came to. */
  sealed interface Outcome {}

  /** @param caller the authenticated caller; null when authentication failed */
  record Denied(Caller caller, SpiffeId identity, Denial denial) implements Outcome {}

  record Issued(Caller caller, IssueResult.Issued issued, Duration ttl, boolean impersonated) implements Outcome {}

  @Override
  public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> responses) {
    long start = clock.nanoTime();
    CallInfo call = CallInfo.KEY.get();
    if (call == null) {
      call = new CallInfo(null, null, List.of(), null);
    }
    Outcome outcome;
    try {
      outcome = decide(request, call);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "CreateCertificate failed unexpectedly", e);
      outcome = new Denied(null, null, internal());
    }
    long decidedNanos = clock.nanoTime() - start;
    if (outcome instanceof Issued issued && record(issued, call, decidedNanos) != AppendOutcome.REJECTED) {
      IstioCertificateResponse.Builder response = IstioCertificateResponse.newBuilder();
      for (X509Certificate certificate : issued.issued().chain()) {
        response.addCertChain(PemText.certificate(certificate));
      }
      metrics.issued(issued.issued().keyAlgorithm(), clock.nanoTime() - start);
      responses.onNext(response.build());
      responses.onCompleted();
      return;
    }
    Denied denied = switch (outcome) {
      case Denied d -> d;
      case Issued i -> {
        LOG.warning(() -> "the audit log refused the record of certificate " + i.issued().serial().toString(16)
            + " for " + i.issued().spiffeId() + "; the certificate was not returned");
        yield new Denied(i.caller(), i.issued().spiffeId(), new Denial(Status.Code.INTERNAL,
            "internal error: the audit log did not record the issuance, so no certificate is returned; retry"));
      }
    };
    if (!(outcome instanceof Issued)) {
      record(denied, call, decidedNanos);
    }
    metrics.refused(denied.denial().code(), clock.nanoTime() - start);
    responses.onError(denied.denial().status().asRuntimeException());
  }

  private Outcome decide(IstioCertificateRequest request, CallInfo call) {
    Caller caller;
    switch (authenticator.authenticate(call)) {
      case Authenticator.Refused refused -> {
        return new Denied(null, null, refused.denial());
      }
      case Authenticator.Authenticated authenticated -> caller = authenticated.caller();
    }
    SpiffeId identity = caller.id();
    boolean impersonated = false;
    Value impersonation = request.getMetadata().getFieldsMap().get(IMPERSONATED_IDENTITY);
    if (impersonation != null && !impersonation.getStringValue().isEmpty()) {
      switch (authenticator.impersonate(caller, impersonation.getStringValue())) {
        case Authenticator.Refused refused -> {
          return new Denied(caller, null, refused.denial());
        }
        case Authenticator.Authenticated as -> {
          identity = as.caller().id();
          impersonated = true;
        }
      }
    }
    Duration ttl = request.getValidityDuration() > 0 ? Duration.ofSeconds(request.getValidityDuration()) : null;
    // The authority that signs now (a rotation may have moved on since the last call).
    IssueResult result = rotation.issue(request.getCsr().getBytes(StandardCharsets.UTF_8), identity, ttl);
    return switch (result) {
      case IssueResult.Issued issued -> new Issued(caller, issued,
          ttl == null ? rotation.signer().options().defaultTtl() : ttl,
          impersonated);
      case IssueResult.Refused refused -> new Denied(caller, identity, denial(refused.refusal(), identity));
    };
  }

  private static Denial denial(Refusal refusal, SpiffeId identity) {
    if (refusal.category() == Refusal.Category.INTERNAL) {
      LOG.warning(() -> "could not issue for " + identity + ": " + refusal.reason());
      return internal();
    }
    return new Denial(refusal.category().statusCode(), refusal.reason());
  }

  private static Denial internal() {
    return new Denial(Status.Code.INTERNAL, "internal error: the CA could not answer; its log has the details");
  }

  private AppendOutcome record(Issued issued, CallInfo call, long nanos) {
    if (audit == null) {
      return AppendOutcome.WRITTEN;
    }
    IssueResult.Issued leaf = issued.issued();
    String reason = "ttl " + issued.ttl().toSeconds() + "s (not after " + leaf.notAfter() + "), key "
        + leaf.keyAlgorithm().configName() + ", caller authenticated by " + issued.caller().describe()
        + (issued.impersonated() ? ", ImpersonatedIdentity " + leaf.spiffeId() : "");
    return audit.append(new AuditEvent(clock.now(), EventIds.next(clock), COMPONENT, "issue", "issued",
        subject(issued.caller(), call),
        new AuditEvent.AuditObject(null, null, null, null, null, leaf.serial().toString(16), leaf.spiffeId().toString()),
        null, reason, nanos / 1000), durability);
  }

  private void record(Denied denied, CallInfo call, long nanos) {
    if (audit == null) {
      return;
    }
    AuditEvent.AuditObject object = denied.identity() == null ? null
        : new AuditEvent.AuditObject(null, null, null, null, null, null, denied.identity().toString());
    audit.append(new AuditEvent(clock.now(), EventIds.next(clock), COMPONENT, "refuse", denied.denial().reason(),
        subject(denied.caller(), call), object, null, denied.denial().message(), nanos / 1000), durability);
  }

  private static AuditEvent.Subject subject(Caller caller, CallInfo call) {
    if (caller == null && call.address() == null) {
      return null;
    }
    return new AuditEvent.Subject(caller == null ? null : caller.id().toString(),
        caller == null ? null : caller.kubernetesUser(), call.address());
  }
}

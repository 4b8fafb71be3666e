package dev.meshguard.ca.server;

import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.Durability;
import dev.meshguard.audit.EventIds;
import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.Refusal;
import dev.meshguard.ca.workload.WorkloadApiServer;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import io.grpc.Status;
import java.time.Duration;
import java.util.Locale;

/**
 * Records every Workload API SVID issuance and refusal as the Istio CA API records its own: an
 * audit event of component {@code ca}, kind {@code issue} (outcome {@code issued}, serial and
 * SPIFFE ID, TTL and key type in the reason) or {@code refuse} (outcome the gRPC code in lower
 * case, the reason as message), and the CA metrics with {@code api="workload"}. The subject is
 * the socket: the SVID is made for the registration entries of its identity, not for one call.
 * An SVID whose record the audit log refuses is not served ({@link WorkloadApiServer.IssuanceListener}).
 */
final class WorkloadIssuanceRecord implements WorkloadApiServer.IssuanceListener {
  private final AuditLog audit;
  private final Durability durability;
  private final CaMetrics metrics;
  private final Clock clock;
  private final String socket;

  /** @param audit the audit log, or null for none */
  WorkloadIssuanceRecord(AuditLog audit, Durability durability, CaMetrics metrics, Clock clock, String socket) {
    this.audit = audit;
    this.durability = durability;
    this.metrics = metrics;
    this.clock = clock;
    this.socket = socket;
  }

  @Override
  public boolean onIssue(SpiffeId identity, Duration ttl, IssueResult result) {
    return switch (result) {
      case IssueResult.Issued issued -> {
        AppendOutcome outcome = audit == null ? AppendOutcome.WRITTEN : audit.append(new AuditEvent(clock.now(),
            EventIds.next(clock), IstioCertificateService.COMPONENT, "issue", "issued", subject(),
            new AuditEvent.AuditObject(null, null, null, null, null, issued.serial().toString(16),
                issued.spiffeId().toString()),
            null, "ttl " + ttl.toSeconds() + "s (not after " + issued.notAfter() + "), key "
                + issued.keyAlgorithm().configName() + ", Workload API SVID of the registration entries for "
                + identity, 0), durability);
        if (outcome == AppendOutcome.REJECTED) {
          metrics.workloadRefused(Status.Code.INTERNAL);
          yield false;
        }
        metrics.workloadIssued(issued.keyAlgorithm());
        yield true;
      }
      case IssueResult.Refused refused -> {
        Refusal refusal = refused.refusal();
        metrics.workloadRefused(refusal.category().statusCode());
        if (audit != null) {
          audit.append(new AuditEvent(clock.now(), EventIds.next(clock), IstioCertificateService.COMPONENT, "refuse",
              refusal.category().statusCode().name().toLowerCase(Locale.ROOT), subject(),
              new AuditEvent.AuditObject(null, null, null, null, null, null, identity.toString()), null,
              "Workload API SVID: " + (refusal.category() == Refusal.Category.INTERNAL
                  ? "internal error; the CA's log has the details" : refusal.reason()), 0), durability);
        }
        yield true;
      }
    };
  }

  private AuditEvent.Subject subject() {
    return new AuditEvent.Subject(null, null, socket);
  }
}

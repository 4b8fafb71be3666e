package dev.meshguard.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * One audit event as a component hands it to the log (schema version {@value #SCHEMA_VERSION}).
 * The log adds {@code seq}, {@code prev} and {@code hash} when it chains the event; see
 * {@link EventLine} for the bytes written.
 *
 * @param time when the decision was made (written as RFC 3339 UTC with nanoseconds)
 * @param id unique, time-ordered (UUIDv7); the authz server returns it to Envoy as {@code decision_id}
 * @param component {@code authz}, {@code ratelimit}, {@code ca}, ...
 * @param kind {@code decision}, {@code throttle}, {@code issue}, {@code refuse}, {@code config-change}, ...
 * @param outcome {@code allow}, {@code deny}, {@code over_limit}, {@code issued}, ...
 * @param subject who asked; null when unknown
 * @param object what was asked about; null when not applicable
 * @param policy the deciding policy; null when none decided
 * @param reason a human-readable reason; null when none
 * @param latencyUs how long the decision took, in microseconds
 * @param checkpoint set only on the log's own {@code checkpoint} events
 */
public record AuditEvent(
    Instant time,
    String id,
    String component,
    String kind,
    String outcome,
    Subject subject,
    AuditObject object,
    PolicyRef policy,
    String reason,
    long latencyUs,
    Checkpoint checkpoint) {

  public static final int SCHEMA_VERSION = 1;

  public AuditEvent {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(component, "component");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(outcome, "outcome");
    if (latencyUs < 0) {
      throw new IllegalArgumentException("latencyUs must not be negative: " + latencyUs);
    }
  }

  /** An event of a component (every event but the log's own checkpoints). */
  public AuditEvent(Instant time, String id, String component, String kind, String outcome, Subject subject,
      AuditObject object, PolicyRef policy, String reason, long latencyUs) {
    this(time, id, component, kind, outcome, subject, object, policy, reason, latencyUs, null);
  }

  /** The same event with another object (used by masking). */
  AuditEvent withObject(AuditObject newObject) {
    return new AuditEvent(time, id, component, kind, outcome, subject, newObject, policy, reason, latencyUs,
        checkpoint);
  }

  /** The same event with another reason (used by masking). */
  AuditEvent withReason(String newReason) {
    return new AuditEvent(time, id, component, kind, outcome, subject, object, policy, newReason, latencyUs,
        checkpoint);
  }

  /**
   * Who asked.
   *
   * @param principal the peer's SPIFFE ID or Istio principal
   * @param requestPrincipal the JWT {@code iss/sub}
   * @param sourceIp the caller's address
   */
  public record Subject(String principal, String requestPrincipal, String sourceIp) {}

  /**
   * What was asked about. Paths are written without query strings' secrets (see masking).
   *
   * @param workload {@code namespace/name} or labels of the workload decided for
   * @param host the request's host
   * @param method the request's method
   * @param path the request's path
   * @param descriptors rate-limit descriptors, rendered {@code key=value,key=value}
   * @param serial a certificate serial (hex)
   * @param spiffeId a certificate's SPIFFE ID
   * @param headers request headers chosen for the record (lower-case names); secrets are masked
   *     by the log before anything is written
   * @param before what a change found, e.g. a tenant's quota before it was replaced; null when
   *     the event records no change or there was nothing before
   * @param after what a change left; null when there is nothing after (a deletion)
   */
  public record AuditObject(
      String workload, String host, String method, String path, String descriptors, String serial, String spiffeId,
      java.util.Map<String, String> headers, AuditValue before, AuditValue after) {

    public AuditObject {
      headers = headers == null ? null : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(headers));
    }

    public AuditObject(
        String workload, String host, String method, String path, String descriptors, String serial, String spiffeId,
        java.util.Map<String, String> headers) {
      this(workload, host, method, path, descriptors, serial, spiffeId, headers, null, null);
    }

    public AuditObject(
        String workload, String host, String method, String path, String descriptors, String serial, String spiffeId) {
      this(workload, host, method, path, descriptors, serial, spiffeId, null);
    }
  }

  /**
   * A signed statement by the log about its own chain head, written every N events or T seconds,
   * at every rotation and at shutdown. See {@link Checkpoints} for the signed bytes.
   *
   * @param headSeq the sequence number of the last event before this checkpoint
   * @param headHash that event's hash (equal to this event's {@code prev})
   * @param dropped events dropped by best-effort producers since the previous checkpoint
   * @param keyId the first 16 hex digits of SHA-256 over the signing key's SubjectPublicKeyInfo
   * @param signature base64 of the ECDSA P-256 (SHA-256, DER) signature
   */
  public record Checkpoint(long headSeq, String headHash, long dropped, String keyId, String signature) {}

  /**
   * The policy that decided.
   *
   * @param name {@code namespace/name}
   * @param rule the rule index or name within the policy
   * @param revision the revision of the policy set in force
   */
  public record PolicyRef(String name, String rule, String revision) {}
}

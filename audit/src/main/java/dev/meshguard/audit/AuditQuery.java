package dev.meshguard.audit;

import java.time.Instant;
import java.util.function.Predicate;

/**
 * A filter over stored events; every criterion that is null matches everything.
 *
 * @param since events at or after this time
 * @param until events before this time
 * @param component exact component ({@code authz}, {@code ratelimit}, {@code ca}, {@code audit})
 * @param outcome exact outcome ({@code allow}, {@code deny}, ...)
 * @param subject matches the subject's principal, request principal or source IP, exactly
 * @param policy exact policy name ({@code ns/name})
 * @param pathPrefix the object's path starts with this
 */
public record AuditQuery(Instant since, Instant until, String component, String outcome, String subject,
    String policy, String pathPrefix) implements Predicate<AuditEvent> {

  public static final AuditQuery ALL = new AuditQuery(null, null, null, null, null, null, null);

  @Override
  public boolean test(AuditEvent e) {
    return (since == null || !e.time().isBefore(since))
        && (until == null || e.time().isBefore(until))
        && (component == null || component.equals(e.component()))
        && (outcome == null || outcome.equals(e.outcome()))
        && (subject == null || (e.subject() != null && (subject.equals(e.subject().principal())
            || subject.equals(e.subject().requestPrincipal()) || subject.equals(e.subject().sourceIp()))))
        && (policy == null || (e.policy() != null && policy.equals(e.policy().name())))
        && (pathPrefix == null || (e.object() != null && e.object().path() != null
            && e.object().path().startsWith(pathPrefix)));
  }
}

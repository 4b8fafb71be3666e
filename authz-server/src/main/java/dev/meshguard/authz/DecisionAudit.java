package dev.meshguard.authz;

import dev.meshguard.audit.AuditEvent;

/**
 * Where the server hands the decisions it audits: every deny, every request an AUDIT policy
 * matched, every dry-run policy that would have decided otherwise, and a sample of allows. The
 * CLI appends them to the {@link dev.meshguard.audit.AuditLog} with the {@code authz} durability.
 * Called on the request path: must not block for long and must not throw.
 */
@FunctionalInterface
public interface DecisionAudit {

  /** Audits nothing. */
  DecisionAudit NONE = event -> {};

  void record(AuditEvent event);
}

package dev.meshguard.bench;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.EventIds;
import dev.meshguard.core.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * Audit events shaped like the authorization server's decisions (about 630 bytes a line once
 * chained), built before a measurement starts so that producers only hand them over: the figures
 * are the log's, not the cost of building events.
 */
final class SampleEvents {
  private static final String[] NAMESPACES = {"shop", "payments", "identity", "search"};
  private static final String[] APPS = {"frontend", "orders", "ledger", "catalog", "profile"};
  private static final String[] METHODS = {"GET", "GET", "POST", "PUT", "DELETE"};

  private SampleEvents() {}

  /** {@code count} distinct decisions, one in five a deny. */
  static List<AuditEvent> authzDecisions(int count, Clock clock) {
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1, found " + count);
    }
    List<AuditEvent> events = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String namespace = NAMESPACES[i % NAMESPACES.length];
      String app = APPS[i % APPS.length];
      String caller = APPS[(i / APPS.length) % APPS.length];
      boolean deny = i % 5 == 4;
      events.add(new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision", deny ? "deny" : "allow",
          new AuditEvent.Subject("spiffe://cluster.local/ns/" + namespace + "/sa/" + caller, null,
              "10.0." + (i / 250) % 250 + "." + i % 250),
          new AuditEvent.AuditObject(namespace + "/" + app, app + "." + namespace + ".svc.cluster.local",
              METHODS[i % METHODS.length], "/api/v1/" + app + "/items/" + i, null, null, null),
          new AuditEvent.PolicyRef(namespace + "/allow-" + caller, Integer.toString(i % 3), "r42"),
          deny ? "no ALLOW policy matched" : null, 40 + i % 400));
    }
    return List.copyOf(events);
  }
}

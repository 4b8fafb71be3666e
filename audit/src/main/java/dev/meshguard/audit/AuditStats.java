package dev.meshguard.audit;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts over the events a query selects: by outcome, the most denied subjects and the policies
 * that decided most often. The log's own checkpoint events are not counted.
 *
 * @param events events counted
 * @param first time of the earliest, null when none
 * @param last time of the latest, null when none
 * @param byOutcome events per outcome, by name
 * @param topDeniedSubjects the subjects with most {@code deny} outcomes, most first
 * @param topPolicies the deciding policies with most events, most first
 */
public record AuditStats(long events, Instant first, Instant last, Map<String, Long> byOutcome,
    Map<String, Long> topDeniedSubjects, Map<String, Long> topPolicies) {

  /** Accumulates events one at a time; not thread-safe. */
  public static final class Collector {
    private final int top;
    private long events;
    private Instant first;
    private Instant last;
    private final Map<String, Long> byOutcome = new TreeMap<>();
    private final Map<String, Long> denied = new HashMap<>();
    private final Map<String, Long> policies = new HashMap<>();

    public Collector(int top) {
      this.top = top;
    }

    public void add(AuditEvent e) {
      if ("audit".equals(e.component()) && "checkpoint".equals(e.kind())) {
        return;
      }
      events++;
      first = first == null || e.time().isBefore(first) ? e.time() : first;
      last = last == null || e.time().isAfter(last) ? e.time() : last;
      byOutcome.merge(e.outcome(), 1L, Long::sum);
      if ("deny".equals(e.outcome())) {
        denied.merge(subjectOf(e), 1L, Long::sum);
      }
      if (e.policy() != null && e.policy().name() != null) {
        policies.merge(e.policy().name(), 1L, Long::sum);
      }
    }

    public AuditStats result() {
      return new AuditStats(events, first, last, Map.copyOf(byOutcome), topOf(denied), topOf(policies));
    }

    private Map<String, Long> topOf(Map<String, Long> counts) {
      Map<String, Long> result = new LinkedHashMap<>();
      List<Map.Entry<String, Long>> sorted = counts.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
              .thenComparing(Map.Entry.comparingByKey()))
          .limit(top).toList();
      sorted.forEach(entry -> result.put(entry.getKey(), entry.getValue()));
      return result;
    }

    private static String subjectOf(AuditEvent e) {
      if (e.subject() == null) {
        return "(unknown)";
      }
      if (e.subject().principal() != null) {
        return e.subject().principal();
      }
      if (e.subject().requestPrincipal() != null) {
        return e.subject().requestPrincipal();
      }
      return e.subject().sourceIp() == null ? "(unknown)" : e.subject().sourceIp();
    }
  }
}

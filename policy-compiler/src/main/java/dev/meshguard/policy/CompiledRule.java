package dev.meshguard.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * One rule as Envoy's RBAC engine would evaluate the policy Istio generates from it, for one
 * protocol (HTTP or TCP): (any {@code from}) AND (any {@code to}) AND (every {@code when}); an
 * empty {@code from} or {@code to} means any.
 */
final class CompiledRule {

  final Clause[] from;
  final Clause[] to;
  final Field[] when;

  CompiledRule(Clause[] from, Clause[] to, Field[] when) {
    this.from = from;
    this.to = to;
    this.when = when;
  }

  boolean test(Req r) {
    return anyClause(from, r) && anyClause(to, r) && allFields(when, r);
  }

  private static boolean anyClause(Clause[] clauses, Req r) {
    if (clauses.length == 0) {
      return true;
    }
    for (Clause c : clauses) {
      if (c.test(r)) {
        return true;
      }
    }
    return false;
  }

  private static boolean allFields(Field[] fields, Req r) {
    for (Field f : fields) {
      if (!f.test(r)) {
        return false;
      }
    }
    return true;
  }

  /** What matched, for a rule that {@link #test matches}: e.g. "path /admin matched paths [/admin*]". */
  String describeMatch(Req r) {
    List<String> parts = new ArrayList<>();
    describeMatchingClause(from, r, parts);
    describeMatchingClause(to, r, parts);
    for (Field f : when) {
      parts.add(f.describeMatch(r));
    }
    return parts.isEmpty() ? "the rule has no conditions, so it matches every request" : String.join(" and ", parts);
  }

  private static void describeMatchingClause(Clause[] clauses, Req r, List<String> parts) {
    for (Clause c : clauses) {
      if (c.test(r)) {
        for (Field f : c.fields()) {
          parts.add(f.describeMatch(r));
        }
        return;
      }
    }
  }

  /** Which part failed, for a rule that does not match. */
  String describeFailure(Req r) {
    List<String> parts = new ArrayList<>();
    describeFailingClauses("from", from, r, parts);
    describeFailingClauses("to", to, r, parts);
    for (Field f : when) {
      if (!f.test(r)) {
        parts.add("when: " + f.describeFailure(r));
      }
    }
    return String.join("; ", parts);
  }

  private static void describeFailingClauses(String name, Clause[] clauses, Req r, List<String> parts) {
    if (anyClause(clauses, r)) {
      return;
    }
    List<String> failures = new ArrayList<>();
    for (Clause c : clauses) {
      failures.add(c.label() + ": " + c.firstFailure(r).describeFailure(r));
    }
    parts.add(name + ": " + String.join(", ", failures));
  }
}

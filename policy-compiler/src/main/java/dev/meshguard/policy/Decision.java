package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import java.util.List;
import java.util.Objects;

/**
 * The evaluator's answer for one request.
 *
 * @param outcome ALLOW or DENY
 * @param policy {@code namespace/name} of the deciding policy, or null (no policy applied, or
 *     denied because no ALLOW policy matched)
 * @param action the deciding policy's action, or null
 * @param rule index of the deciding rule in its policy, or -1
 * @param audit AUDIT policies that matched ({@code namespace/name}), sorted
 * @param dryRun dry-run policies and what they would have decided
 * @param custom CUSTOM providers that were (or would have been) called, in call order
 * @param reason a sentence a person can read, e.g. "denied by DENY policy foo/deny-admin rule 0:
 *     path /admin matched paths [/admin*]"
 */
public record Decision(
    Outcome outcome,
    String policy,
    Action action,
    int rule,
    List<String> audit,
    List<DryRunResult> dryRun,
    List<String> custom,
    String reason) {

  public Decision {
    Objects.requireNonNull(outcome, "outcome");
    audit = List.copyOf(audit);
    dryRun = List.copyOf(dryRun);
    custom = List.copyOf(custom);
    Objects.requireNonNull(reason, "reason");
  }

  public boolean allowed() {
    return outcome == Outcome.ALLOW;
  }
}

package dev.meshguard.policy;

import java.util.Objects;

/**
 * A dry-run policy that matched: what it would have decided, had it been enforced.
 *
 * @param policy {@code namespace/name}
 * @param decision what enforcing it would have given
 */
public record DryRunResult(String policy, Outcome decision) {
  public DryRunResult {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(decision, "decision");
  }
}

package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import java.util.List;
import java.util.Objects;

/**
 * Why a request got its decision: the {@link Decision} plus, for every policy that applies to the
 * workload, what each rule did with the request. What {@code meshguard policy explain} prints.
 *
 * @param decision the decision {@link WorkloadPolicies#evaluate} gives the same request
 * @param workload the workload the request was addressed to
 * @param http true for an HTTP request, false for a TCP connection check
 * @param policies the policies that apply, in evaluation order (CUSTOM, DENY, ALLOW, AUDIT,
 *     then dry-run)
 */
public record Explanation(Decision decision, Workload workload, boolean http, List<PolicyExplanation> policies) {

  public Explanation {
    Objects.requireNonNull(decision, "decision");
    Objects.requireNonNull(workload, "workload");
    policies = List.copyOf(policies);
  }

  /**
   * One applicable policy.
   *
   * @param policy {@code namespace/name}
   * @param action its action
   * @param dryRun true when {@code istio.io/dry-run} makes it report-only
   * @param provider the CUSTOM provider, or null
   * @param note something about the policy as a whole (an undefined provider, no rules), or null
   * @param rules one line per rule
   */
  public record PolicyExplanation(String policy, Action action, boolean dryRun, String provider, String note,
      List<RuleExplanation> rules) {
    public PolicyExplanation {
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(action, "action");
      rules = List.copyOf(rules);
    }

    /** True when some rule matched. */
    public boolean matched() {
      return rules.stream().anyMatch(RuleExplanation::matched);
    }
  }

  /**
   * One rule.
   *
   * @param rule its index in the policy
   * @param matched whether it matched the request
   * @param detail what matched, or which clause failed (or why the rule can never match here)
   */
  public record RuleExplanation(int rule, boolean matched, String detail) {
    public RuleExplanation {
      Objects.requireNonNull(detail, "detail");
    }
  }

  /** The explanation as prose, one line per policy and rule. */
  public String render() {
    StringBuilder sb = new StringBuilder();
    sb.append(decision.outcome()).append(": ").append(decision.reason()).append('\n');
    sb.append(http ? "HTTP request" : "TCP connection").append(" to workload ")
        .append(WorkloadPolicies.describe(workload)).append(": ");
    if (policies.isEmpty()) {
      sb.append("no authorization policy applies.\n");
    } else {
      sb.append(policies.size()).append(policies.size() == 1 ? " policy applies" : " policies apply").append('\n');
    }
    for (PolicyExplanation p : policies) {
      sb.append("  ").append(p.action()).append(' ').append(p.policy());
      if (p.provider() != null) {
        sb.append(" (provider ").append(p.provider()).append(')');
      }
      if (p.dryRun()) {
        sb.append(" [dry-run]");
      }
      sb.append(p.matched() ? ": matched" : ": no rule matched").append('\n');
      if (p.note() != null) {
        sb.append("    ").append(p.note()).append('\n');
      }
      for (RuleExplanation r : p.rules()) {
        sb.append("    rule ").append(r.rule()).append(r.matched() ? " matched: " : " did not match: ")
            .append(r.detail()).append('\n');
      }
    }
    if (!decision.audit().isEmpty()) {
      sb.append("audit: ").append(String.join(", ", decision.audit())).append('\n');
    }
    for (DryRunResult d : decision.dryRun()) {
      sb.append("dry-run: ").append(d.policy()).append(" would ").append(d.decision() == Outcome.ALLOW ? "allow" : "deny")
          .append('\n');
    }
    if (!decision.custom().isEmpty()) {
      sb.append("CUSTOM providers called: ").append(String.join(", ", decision.custom())).append('\n');
    }
    return sb.toString();
  }
}

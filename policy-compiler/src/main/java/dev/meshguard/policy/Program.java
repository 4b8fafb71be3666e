package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The rules that apply to one workload for one protocol, in evaluation order, with their index.
 * Ordinals run through five segments, each sorted by policy order then rule index:
 * <ol>
 *   <li>enforced CUSTOM, grouped by provider name (Istio builds one filter per provider, sorted);
 *   <li>enforced DENY;
 *   <li>enforced ALLOW;
 *   <li>enforced AUDIT;
 *   <li>dry-run CUSTOM, DENY and ALLOW (dry-run AUDIT has no effect to report).
 * </ol>
 * So the first matching candidate of a segment is the rule a decision names.
 */
final class Program {

  /**
   * One rule of the program.
   *
   * @param allowed the decision "allowed by this rule" with nothing else to report, built once
   */
  record Entry(CompiledPolicy policy, int ruleIndex, CompiledRule rule, Decision allowed) {}

  final Entry[] entries;
  final RuleIndex index;
  final int customEnd;
  final int denyEnd;
  final int allowEnd;
  final int auditEnd;
  /** Enforced ALLOW policies apply (even if none of their rules can match this protocol). */
  final int allowPolicies;

  private Program(Entry[] entries, int customEnd, int denyEnd, int allowEnd, int auditEnd, int allowPolicies) {
    this.entries = entries;
    this.customEnd = customEnd;
    this.denyEnd = denyEnd;
    this.allowEnd = allowEnd;
    this.auditEnd = auditEnd;
    this.allowPolicies = allowPolicies;
    CompiledRule[] rules = new CompiledRule[entries.length];
    for (int i = 0; i < entries.length; i++) {
      rules[i] = entries[i].rule();
    }
    this.index = RuleIndex.build(rules);
  }

  /** @param policies the policies that apply to the workload, in policy order */
  static Program build(List<CompiledPolicy> policies, boolean http) {
    List<Entry> custom = new ArrayList<>();
    List<Entry> deny = new ArrayList<>();
    List<Entry> allow = new ArrayList<>();
    List<Entry> audit = new ArrayList<>();
    List<Entry> dryRun = new ArrayList<>();
    int allowPolicies = 0;
    for (CompiledPolicy p : policies) {
      if (!p.appliesTo(http)) {
        continue;
      }
      if (p.action() == Action.ALLOW && !p.dryRun()) {
        allowPolicies++;
      }
      if (p.action() == Action.AUDIT && p.dryRun()) {
        continue;
      }
      List<Entry> target = p.dryRun() ? dryRun : switch (p.action()) {
        case CUSTOM -> custom;
        case DENY -> deny;
        case ALLOW -> allow;
        case AUDIT -> audit;
      };
      List<RuleCompiler.Result> rules = http ? p.http : p.tcp;
      for (int i = 0; i < rules.size(); i++) {
        CompiledRule rule = rules.get(i).rule();
        if (rule != null) {
          Decision allowed = new Decision(Outcome.ALLOW, p.ref, Action.ALLOW, i, List.of(), List.of(), List.of(),
              "allowed by ALLOW policy " + p.ref + " rule " + i);
          target.add(new Entry(p, i, rule, allowed));
        }
      }
    }
    custom.sort(Comparator.comparing((Entry e) -> e.policy().providerName()));
    List<Entry> all = new ArrayList<>(custom);
    int customEnd = all.size();
    all.addAll(deny);
    int denyEnd = all.size();
    all.addAll(allow);
    int allowEnd = all.size();
    all.addAll(audit);
    int auditEnd = all.size();
    all.addAll(dryRun);
    return new Program(all.toArray(new Entry[0]), customEnd, denyEnd, allowEnd, auditEnd, allowPolicies);
  }
}

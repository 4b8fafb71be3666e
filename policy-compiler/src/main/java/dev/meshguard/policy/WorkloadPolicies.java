package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The compiled program of one workload (namespace and labels) in one engine revision: the
 * policies that apply to it, indexed, for HTTP requests and for TCP connections. Immutable and
 * thread-safe; built once by {@link PolicyEngine#forWorkload} and cached.
 *
 * <h2>Decision algorithm</h2>
 * (istio/api {@code authorization_policy.proto}; istio/istio {@code builder/builder.go}):
 * <ol>
 *   <li>CUSTOM: for each provider in name order, if one of its rules matches, the provider is
 *       asked; a provider that denies decides DENY. A provider missing from meshConfig makes its
 *       rules DENY rules. On TCP, CUSTOM policies of an HTTP provider do nothing.
 *   <li>DENY: a matching rule decides DENY.
 *   <li>ALLOW: with no enforced ALLOW policy the request is allowed; otherwise a matching rule
 *       allows it and no match denies it.
 *   <li>AUDIT rules that match are reported, and dry-run policies report what they would have
 *       decided; neither changes the decision.
 * </ol>
 * Within a segment policies are taken in (namespace, name) order and rules in index order, so the
 * decision names the first rule that matched.
 */
public final class WorkloadPolicies {

  private final Workload workload;
  private final List<CompiledPolicy> policies;
  private final Program http;
  private final Program tcp;
  private final Decision noPolicy;
  private final Decision noAllowPolicy;
  private final Decision httpNoAllowMatch;
  private final Decision tcpNoAllowMatch;

  WorkloadPolicies(Workload workload, List<CompiledPolicy> policies) {
    this.workload = workload;
    this.policies = List.copyOf(policies);
    this.http = Program.build(this.policies, true);
    this.tcp = Program.build(this.policies, false);
    String w = describe(workload);
    this.noPolicy = simple(Outcome.ALLOW, "allowed: no authorization policy applies to workload " + w);
    this.noAllowPolicy = simple(Outcome.ALLOW,
        "allowed: no DENY or CUSTOM policy denied and no ALLOW policy applies to workload " + w);
    this.httpNoAllowMatch = simple(Outcome.DENY, noAllowMatchReason(http.allowPolicies, w));
    this.tcpNoAllowMatch = simple(Outcome.DENY, noAllowMatchReason(tcp.allowPolicies, w));
  }

  private static String noAllowMatchReason(int allowPolicies, String workload) {
    return "denied: no ALLOW policy matched; " + allowPolicies
        + (allowPolicies == 1 ? " ALLOW policy applies" : " ALLOW policies apply") + " to workload " + workload;
  }

  private static Decision simple(Outcome outcome, String reason) {
    return new Decision(outcome, null, null, -1, List.of(), List.of(), List.of(), reason);
  }

  /** {@code namespace/{k=v,...}} with labels sorted, the way decisions name a workload. */
  static String describe(Workload w) {
    StringBuilder sb = new StringBuilder(w.namespace()).append("/{");
    boolean first = true;
    for (Map.Entry<String, String> e : new TreeMap<>(w.labels()).entrySet()) {
      if (!first) {
        sb.append(',');
      }
      sb.append(e.getKey()).append('=').append(e.getValue());
      first = false;
    }
    return sb.append('}').toString();
  }

  public Workload workload() {
    return workload;
  }

  /** The policies that apply to this workload ({@code namespace/name}), in (namespace, name) order. */
  public List<String> policies() {
    return policies.stream().map(p -> p.ref).toList();
  }

  /**
   * Decides one request addressed to this workload. Never throws and never logs: a failure inside
   * (which would be a bug) denies, with the reason saying so. The request's own
   * {@link RequestAttributes#workload()} is not consulted: this program's workload is.
   *
   * @param custom asked about CUSTOM providers whose rules match; null means every provider allows
   */
  public Decision evaluate(RequestAttributes attributes, CustomDecider custom) {
    if (policies.isEmpty()) {
      return noPolicy;
    }
    Candidates c = Candidates.acquire();
    try {
      return decide(c.req.reset(attributes), custom == null ? CustomDecider.ALLOW_ALL : custom, c);
    } catch (RuntimeException | StackOverflowError e) {
      return simple(Outcome.DENY, "denied: evaluation failed: " + e);
    } finally {
      c.release();
    }
  }

  private Decision decide(Req r, CustomDecider custom, Candidates c) {
    Program p = r.http != null ? http : tcp;
    Program.Entry[] entries = p.entries;
    p.index.collect(r, c);
    int[] ord = c.ordinals;
    int n = c.size;
    int i = 0;

    Program.Entry decidingEntry = null;
    Decision decided = null;
    List<String> called = null;

    // CUSTOM, provider by provider.
    String handledProvider = null;
    for (; i < n && ord[i] < p.customEnd; i++) {
      Program.Entry e = entries[ord[i]];
      String provider = e.policy().providerName();
      if (provider.equals(handledProvider) || !e.rule().test(r)) {
        continue;
      }
      handledProvider = provider;
      if (e.policy().provider == CompiledPolicy.Provider.UNKNOWN) {
        decidingEntry = e;
        decided = denied(e, "provider \"" + provider + "\" is not defined in meshConfig.extensionProviders, so its"
            + " rules deny (as Istio does); " + e.rule().describeMatch(r));
        break;
      }
      if (called == null) {
        called = new ArrayList<>(2);
      }
      called.add(provider);
      if (!allows(custom, provider)) {
        decidingEntry = e;
        decided = denied(e, "provider \"" + provider + "\" denied the request; " + e.rule().describeMatch(r));
        break;
      }
    }
    while (i < n && ord[i] < p.customEnd) {
      i++;
    }

    // DENY.
    for (; i < n && ord[i] < p.denyEnd; i++) {
      Program.Entry e = entries[ord[i]];
      if (decidingEntry == null && e.rule().test(r)) {
        decidingEntry = e;
        decided = denied(e, e.rule().describeMatch(r));
      }
    }

    // ALLOW.
    for (; i < n && ord[i] < p.allowEnd; i++) {
      Program.Entry e = entries[ord[i]];
      if (decidingEntry == null && e.rule().test(r)) {
        decidingEntry = e;
        decided = e.allowed();
      }
    }
    if (decided == null) {
      decided = p.allowPolicies == 0 ? noAllowPolicy : (p == http ? httpNoAllowMatch : tcpNoAllowMatch);
    }

    // AUDIT.
    List<String> audit = null;
    for (; i < n && ord[i] < p.auditEnd; i++) {
      Program.Entry e = entries[ord[i]];
      String ref = e.policy().ref;
      if ((audit == null || !audit.get(audit.size() - 1).equals(ref)) && e.rule().test(r)) {
        if (audit == null) {
          audit = new ArrayList<>(2);
        }
        audit.add(ref);
      }
    }

    // Dry-run.
    List<DryRunResult> dryRun = null;
    for (; i < n; i++) {
      Program.Entry e = entries[ord[i]];
      String ref = e.policy().ref;
      if ((dryRun == null || !dryRun.get(dryRun.size() - 1).policy().equals(ref)) && e.rule().test(r)) {
        if (dryRun == null) {
          dryRun = new ArrayList<>(2);
        }
        dryRun.add(new DryRunResult(ref, wouldDecide(e.policy(), custom)));
      }
    }

    if (audit == null && dryRun == null && called == null) {
      return decided;
    }
    if (audit != null) {
      audit.sort(null);
    }
    return new Decision(decided.outcome(), decided.policy(), decided.action(), decided.rule(),
        audit == null ? List.of() : audit, dryRun == null ? List.of() : dryRun,
        called == null ? List.of() : called, decided.reason());
  }

  private static Decision denied(Program.Entry e, String detail) {
    CompiledPolicy p = e.policy();
    return new Decision(Outcome.DENY, p.ref, p.action(), e.ruleIndex(), List.of(), List.of(), List.of(),
        "denied by " + p.action() + " policy " + p.ref + " rule " + e.ruleIndex() + ": " + detail);
  }

  private static Outcome wouldDecide(CompiledPolicy p, CustomDecider custom) {
    return switch (p.action()) {
      case ALLOW -> Outcome.ALLOW;
      case CUSTOM -> p.provider == CompiledPolicy.Provider.UNKNOWN || !allows(custom, p.providerName())
          ? Outcome.DENY : Outcome.ALLOW;
      default -> Outcome.DENY;
    };
  }

  /** The decider's answer; a decider that throws (breaking its contract) counts as a denial. */
  private static boolean allows(CustomDecider custom, String provider) {
    try {
      return custom.allows(provider);
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * Decides the request as {@link #evaluate} does, and says for every applicable policy and rule
   * what matched or which clause failed. Slower than {@code evaluate} (no index); for
   * {@code meshguard policy explain} and tests. Never throws.
   */
  public Explanation explain(RequestAttributes attributes, CustomDecider custom) {
    Decision decision = evaluate(attributes, custom);
    Req r = new Req(attributes);
    boolean isHttp = r.http != null;
    List<Explanation.PolicyExplanation> lines = new ArrayList<>();
    for (CompiledPolicy p : ordered()) {
      String note = null;
      if (!p.appliesTo(isHttp)) {
        note = "does nothing on TCP: provider \"" + p.providerName() + "\" is an HTTP ext_authz provider";
      } else if (p.provider == CompiledPolicy.Provider.UNKNOWN) {
        note = "provider \"" + p.providerName() + "\" is not defined in meshConfig.extensionProviders: its rules deny";
      } else if (p.action() == Action.AUDIT && p.dryRun()) {
        note = "dry-run AUDIT policies have no effect";
      } else if (p.source.rules().isEmpty()) {
        note = "has no rules, so it matches nothing";
      }
      List<Explanation.RuleExplanation> rules = new ArrayList<>();
      if (p.appliesTo(isHttp)) {
        List<RuleCompiler.Result> results = isHttp ? p.http : p.tcp;
        for (int i = 0; i < results.size(); i++) {
          RuleCompiler.Result result = results.get(i);
          if (result.rule() == null) {
            rules.add(new Explanation.RuleExplanation(i, false, result.dropped()));
            continue;
          }
          boolean matched = safeTest(result.rule(), r);
          rules.add(new Explanation.RuleExplanation(i, matched, safeDescribe(result.rule(), r, matched)));
        }
      }
      lines.add(new Explanation.PolicyExplanation(p.ref, p.action(), p.dryRun(),
          p.action() == Action.CUSTOM ? p.providerName() : null, note, rules));
    }
    return new Explanation(decision, workload, isHttp, lines);
  }

  private static boolean safeTest(CompiledRule rule, Req r) {
    try {
      return rule.test(r);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String safeDescribe(CompiledRule rule, Req r, boolean matched) {
    try {
      return matched ? rule.describeMatch(r) : rule.describeFailure(r);
    } catch (RuntimeException e) {
      return "(could not describe: " + e + ")";
    }
  }

  /** Policies in evaluation order: CUSTOM, DENY, ALLOW, AUDIT; dry-run ones last. */
  private List<CompiledPolicy> ordered() {
    List<CompiledPolicy> out = new ArrayList<>();
    for (boolean dry : new boolean[] {false, true}) {
      for (Action a : List.of(Action.CUSTOM, Action.DENY, Action.ALLOW, Action.AUDIT)) {
        for (CompiledPolicy p : policies) {
          if (p.dryRun() == dry && p.action() == a) {
            out.add(p);
          }
        }
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "WorkloadPolicies[" + describe(workload) + ", " + policies.size() + " policies]";
  }

  // Visible to tests in this package: how many rules each program checks on every request, and
  // how many candidates the index finds for one request.
  int alwaysChecked(boolean forHttp) {
    return (forHttp ? http : tcp).index.alwaysChecked();
  }

  int candidates(RequestAttributes attributes) {
    Req r = new Req(attributes);
    Candidates c = Candidates.acquire();
    try {
      (r.http != null ? http : tcp).index.collect(r, c);
      return c.size;
    } finally {
      c.release();
    }
  }
}

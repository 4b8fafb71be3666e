package dev.meshguard.policy;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.TrustDomainAliases;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link PolicySet} compiled for one {@link MeshConfig}: immutable and thread-safe, one per
 * policy revision; the authz server swaps whole engines on reload.
 *
 * <p>{@link #compile} does the per-policy work once: every rule becomes the matcher tree Envoy's
 * RBAC filter would evaluate for the config istiod generates (principals expanded over the trust
 * domain and its aliases, TCP variants of each rule, CUSTOM providers resolved), and CEL
 * conditions are type-checked. {@link #forWorkload} picks the policies that apply to a workload
 * (root namespace and the workload's namespace; {@code selector.matchLabels} a subset of its
 * labels; {@code targetRefs} only for the Gateway-API gateway they name) and indexes them; that
 * program is cached per workload. {@link #evaluate} decides a request; see
 * {@link WorkloadPolicies} for the algorithm.
 */
public final class PolicyEngine {

  /** How many workload programs are kept; the least recently used beyond it are rebuilt on demand. */
  public static final int DEFAULT_MAX_CACHED_WORKLOADS = 10_000;

  private static final String GATEWAY_API_GROUP = "gateway.networking.k8s.io";

  private final String revision;
  private final MeshConfig mesh;
  private final Map<String, List<CompiledPolicy>> byNamespace;
  private final int policyCount;
  private final LoadingCache<Workload, WorkloadPolicies> programs;
  /** RequestAuthentications by namespace, each list sorted by name (the PolicySet's order). */
  private final Map<String, List<RequestAuthentication>> authentications;

  private PolicyEngine(String revision, MeshConfig mesh, Map<String, List<CompiledPolicy>> byNamespace,
      int policyCount, int maxCachedWorkloads, Map<String, List<RequestAuthentication>> authentications) {
    this.revision = revision;
    this.mesh = mesh;
    this.byNamespace = byNamespace;
    this.policyCount = policyCount;
    this.authentications = authentications;
    // Runnable::run: cache maintenance runs on the calling thread, so no pool thread is started.
    this.programs = Caffeine.newBuilder()
        .maximumSize(maxCachedWorkloads)
        .executor(Runnable::run)
        .build(this::build);
  }

  /**
   * Compiles {@code set} for {@code mesh}.
   *
   * @throws ConfigException when a CEL condition does not compile or type-check to a bool, or
   *     sits in a policy that is not {@code meshguard.dev/v1} (every such error, each with the
   *     condition's position and field path), or when the mesh trust domain is not a valid one
   */
  public static PolicyEngine compile(PolicySet set, MeshConfig mesh) throws ConfigException {
    return compile(set, mesh, DEFAULT_MAX_CACHED_WORKLOADS);
  }

  /** As {@link #compile(PolicySet, MeshConfig)}, keeping at most {@code maxCachedWorkloads} programs. */
  public static PolicyEngine compile(PolicySet set, MeshConfig mesh, int maxCachedWorkloads) throws ConfigException {
    Objects.requireNonNull(set, "set");
    Objects.requireNonNull(mesh, "mesh");
    if (maxCachedWorkloads < 1) {
      throw new IllegalArgumentException("maxCachedWorkloads must be positive: " + maxCachedWorkloads);
    }
    TrustDomainAliases trustDomains;
    try {
      trustDomains = new TrustDomainAliases(mesh.trustDomain(), mesh.trustDomainAliases());
    } catch (IllegalArgumentException e) {
      throw ConfigException.forSetting("trustDomain", e.getMessage());
    }
    List<AuthorizationPolicy> sorted = new ArrayList<>(set.authorizationPolicies());
    // Determinism: the program depends on the policies, never on the order they were given in.
    sorted.sort(Comparator.comparing(AuthorizationPolicy::namespace)
        .thenComparing(AuthorizationPolicy::name)
        .thenComparing(AuthorizationPolicy::toString));

    List<ConfigError> errors = new ArrayList<>();
    Map<String, CelConditions.Compiled> celCache = new HashMap<>();
    Map<String, List<CompiledPolicy>> byNamespace = new LinkedHashMap<>();
    for (int order = 0; order < sorted.size(); order++) {
      AuthorizationPolicy p = sorted.get(order);
      Map<Condition, CelConditions.Condition> cel = compileCel(p, celCache, errors);
      if (cel == null) {
        continue;
      }
      RuleCompiler rules = new RuleCompiler(p, trustDomains, cel);
      boolean strict = p.action() == Action.ALLOW;
      List<RuleCompiler.Result> http = new ArrayList<>();
      List<RuleCompiler.Result> tcp = new ArrayList<>();
      for (Rule rule : p.rules()) {
        http.add(rules.compile(rule, false, strict));
        tcp.add(rules.compile(rule, true, strict));
      }
      CompiledPolicy compiled = new CompiledPolicy(p, order, provider(p, mesh), http, tcp);
      byNamespace.computeIfAbsent(p.namespace(), ns -> new ArrayList<>()).add(compiled);
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    byNamespace.replaceAll((ns, list) -> List.copyOf(list));
    List<RequestAuthentication> ras = new ArrayList<>(set.requestAuthentications());
    ras.sort(Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name));
    Map<String, List<RequestAuthentication>> raByNamespace = new LinkedHashMap<>();
    for (RequestAuthentication r : ras) {
      raByNamespace.computeIfAbsent(r.namespace(), ns -> new ArrayList<>()).add(r);
    }
    raByNamespace.replaceAll((ns, list) -> List.copyOf(list));
    return new PolicyEngine(set.revision(), mesh, Map.copyOf(byNamespace), sorted.size(), maxCachedWorkloads,
        Map.copyOf(raByNamespace));
  }

  /** The policy's CEL conditions compiled, or null when one failed (errors are added). */
  private static Map<Condition, CelConditions.Condition> compileCel(AuthorizationPolicy p,
      Map<String, CelConditions.Compiled> cache, List<ConfigError> errors) {
    Map<Condition, CelConditions.Condition> out = new IdentityHashMap<>();
    boolean failed = false;
    for (int i = 0; i < p.rules().size(); i++) {
      Rule rule = p.rules().get(i);
      for (int j = 0; j < rule.when().size(); j++) {
        Condition c = rule.when().get(j);
        if (c.cel() == null) {
          continue;
        }
        Position at = c.position().line() > 0 ? c.position()
            : rule.position().line() > 0 ? rule.position() : p.position();
        String path = "spec.rules[" + i + "].when[" + j + "].cel";
        if (!p.apiVersion().equals(AuthorizationPolicy.MESHGUARD_V1)) {
          errors.add(new ConfigError(at.file(), at.line(), at.column(), path,
              "CEL conditions are only accepted in " + AuthorizationPolicy.MESHGUARD_V1 + " policies, not "
                  + p.apiVersion() + " (policy " + p.ref() + ")"));
          failed = true;
          continue;
        }
        CelConditions.Compiled compiled = cache.computeIfAbsent(c.cel(), CelConditions::compile);
        if (compiled.error() != null) {
          errors.add(new ConfigError(at.file(), at.line(), at.column(), path,
              compiled.error() + " (policy " + p.ref() + ")"));
          failed = true;
        } else {
          out.put(c, compiled.condition());
        }
      }
    }
    return failed ? null : out;
  }

  private static CompiledPolicy.Provider provider(AuthorizationPolicy p, MeshConfig mesh) {
    if (p.action() != Action.CUSTOM) {
      return CompiledPolicy.Provider.NONE;
    }
    ExtensionProvider provider = p.provider() == null ? null : mesh.extensionProviders().get(p.provider());
    if (provider == null) {
      return CompiledPolicy.Provider.UNKNOWN;
    }
    return provider.grpc() ? CompiledPolicy.Provider.GRPC : CompiledPolicy.Provider.HTTP;
  }

  /** The policy set's revision (its content digest). */
  public String revision() {
    return revision;
  }

  public MeshConfig meshConfig() {
    return mesh;
  }

  /** How many authorization policies were compiled. */
  public int policyCount() {
    return policyCount;
  }

  /** The program of {@code workload}: built on first use, then cached (bounded, least recently used out). */
  public WorkloadPolicies forWorkload(Workload workload) {
    Objects.requireNonNull(workload, "workload");
    return programs.get(workload);
  }

  /**
   * Decides one request: {@code forWorkload(attributes.workload()).evaluate(attributes, custom)}.
   * Never throws and never logs.
   */
  public Decision evaluate(RequestAttributes attributes, CustomDecider custom) {
    return forWorkload(attributes.workload()).evaluate(attributes, custom);
  }

  /** Explains one request: {@code forWorkload(attributes.workload()).explain(attributes, custom)}. */
  public Explanation explain(RequestAttributes attributes, CustomDecider custom) {
    return forWorkload(attributes.workload()).explain(attributes, custom);
  }

  /**
   * The RequestAuthentications that apply to {@code workload}, by the same attachment rules as
   * AuthorizationPolicies (root namespace: mesh-wide; the workload's namespace; selector or
   * targetRefs): root-namespace ones first, then by namespace and name. Istio merges the
   * {@code jwtRules} of all of them into one jwt_authn filter (pilot {@code authn} package,
   * {@code policy_applier.go}). Not cached: the caller caches what it builds from them.
   */
  public List<RequestAuthentication> requestAuthentications(Workload workload) {
    Objects.requireNonNull(workload, "workload");
    List<RequestAuthentication> out = new ArrayList<>();
    String root = mesh.rootNamespace();
    for (RequestAuthentication r : authentications.getOrDefault(root, List.of())) {
      if (attaches(r.namespace(), r.selector(), r.targetRefs(), workload)) {
        out.add(r);
      }
    }
    if (!workload.namespace().equals(root)) {
      for (RequestAuthentication r : authentications.getOrDefault(workload.namespace(), List.of())) {
        if (attaches(r.namespace(), r.selector(), r.targetRefs(), workload)) {
          out.add(r);
        }
      }
    }
    return out;
  }

  /** Every RequestAuthentication of the policy set, by namespace then name. */
  public List<RequestAuthentication> requestAuthentications() {
    List<RequestAuthentication> all = new ArrayList<>();
    authentications.values().forEach(all::addAll);
    all.sort(Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name));
    return all;
  }

  /** Whether any RequestAuthentication was loaded at all (lets callers skip per-request work). */
  public boolean hasRequestAuthentications() {
    return !authentications.isEmpty();
  }

  private WorkloadPolicies build(Workload w) {
    List<CompiledPolicy> applicable = new ArrayList<>();
    String root = mesh.rootNamespace();
    addApplicable(byNamespace.get(root), w, applicable);
    if (!w.namespace().equals(root)) {
      addApplicable(byNamespace.get(w.namespace()), w, applicable);
    }
    applicable.sort(Comparator.comparingInt(p -> p.order));
    return new WorkloadPolicies(w, applicable);
  }

  private static void addApplicable(List<CompiledPolicy> candidates, Workload w, List<CompiledPolicy> out) {
    if (candidates == null) {
      return;
    }
    for (CompiledPolicy p : candidates) {
      if (attaches(p.source, w)) {
        out.add(p);
      }
    }
  }

  /**
   * istio/istio {@code WorkloadPolicyMatcher.ShouldAttachPolicy} (pilot/pkg/model/policyattachment.go)
   * for sidecars and Gateway-API gateways: a workload without the gateway-name label ignores
   * policies with targetRefs and uses the selector; a gateway uses the selector for policies
   * without targetRefs ({@code ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY}, on by default) and
   * otherwise takes a policy of its own namespace whose targetRef names its Gateway.
   */
  static boolean attaches(AuthorizationPolicy p, Workload w) {
    return attaches(p.namespace(), p.selector(), p.targetRefs(), w);
  }

  private static boolean attaches(String namespace, Map<String, String> selector, List<TargetRef> targetRefs,
      Workload w) {
    String gatewayName = w.labels().get(Workload.GATEWAY_NAME_LABEL);
    if (gatewayName == null || targetRefs.isEmpty()) {
      return targetRefs.isEmpty() && selected(selector, w.labels());
    }
    if (!namespace.equals(w.namespace())) {
      return false;
    }
    for (TargetRef ref : targetRefs) {
      boolean sameNamespace = ref.namespace().isEmpty() || ref.namespace().equals(w.namespace());
      if (sameNamespace && ref.group().equals(GATEWAY_API_GROUP) && ref.kind().equals("Gateway")
          && ref.name().equals(gatewayName)) {
        return true;
      }
    }
    return false;
  }

  /** {@code matchLabels} is a subset of the workload's labels (an empty selector selects all). */
  static boolean selected(Map<String, String> selector, Map<String, String> labels) {
    for (Map.Entry<String, String> e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "PolicyEngine[revision=" + revision + ", " + policyCount + " policies]";
  }
}

package dev.meshguard.policy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The decision procedure written as plainly as possible, straight from the model records, for
 * checking the indexed engine against: a linear scan over every policy and rule, string forms
 * via java.util.regex, CIDRs via BigInteger. Only valid policies (what the parser lets through)
 * are supported. Facts as cited in /work/shared/reference/istio-authz-semantics.md.
 */
final class ReferenceEvaluator {

  private final List<AuthorizationPolicy> policies;
  private final MeshConfig mesh;

  ReferenceEvaluator(List<AuthorizationPolicy> policies, MeshConfig mesh) {
    this.policies = policies.stream()
        .sorted(Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name))
        .toList();
    this.mesh = mesh;
  }

  /** The decision without its reason (compared field by field). */
  record Verdict(Outcome outcome, String policy, Action action, int rule, List<String> audit,
      List<DryRunResult> dryRun, List<String> custom) {
    static Verdict of(Decision d) {
      return new Verdict(d.outcome(), d.policy(), d.action(), d.rule(), d.audit(), d.dryRun(), d.custom());
    }
  }

  Verdict decide(RequestAttributes r, CustomDecider decider) {
    boolean http = r.http() != null;
    List<AuthorizationPolicy> applicable = policies.stream().filter(p -> applies(p, r.workload())).toList();

    Verdict decided = null;
    List<String> called = new ArrayList<>();
    Set<String> providers = new TreeSet<>();
    for (AuthorizationPolicy p : applicable) {
      if (p.action() == Action.CUSTOM && !p.dryRun() && customApplies(p, http)) {
        providers.add(providerName(p));
      }
    }
    for (String provider : providers) {
      int[] hit = firstMatch(applicable, p -> p.action() == Action.CUSTOM && !p.dryRun() && customApplies(p, http)
          && providerName(p).equals(provider), r);
      if (hit == null) {
        continue;
      }
      AuthorizationPolicy p = applicable.get(hit[0]);
      if (!mesh.extensionProviders().containsKey(provider)) {
        decided = new Verdict(Outcome.DENY, p.ref(), Action.CUSTOM, hit[1], null, null, null);
        break;
      }
      called.add(provider);
      if (!decider.allows(provider)) {
        decided = new Verdict(Outcome.DENY, p.ref(), Action.CUSTOM, hit[1], null, null, null);
        break;
      }
    }
    if (decided == null) {
      int[] hit = firstMatch(applicable, p -> p.action() == Action.DENY && !p.dryRun(), r);
      if (hit != null) {
        decided = new Verdict(Outcome.DENY, applicable.get(hit[0]).ref(), Action.DENY, hit[1], null, null, null);
      }
    }
    if (decided == null) {
      boolean anyAllow = applicable.stream().anyMatch(p -> p.action() == Action.ALLOW && !p.dryRun());
      int[] hit = firstMatch(applicable, p -> p.action() == Action.ALLOW && !p.dryRun(), r);
      if (hit != null) {
        decided = new Verdict(Outcome.ALLOW, applicable.get(hit[0]).ref(), Action.ALLOW, hit[1], null, null, null);
      } else {
        decided = new Verdict(anyAllow ? Outcome.DENY : Outcome.ALLOW, null, null, -1, null, null, null);
      }
    }
    List<String> audit = new ArrayList<>();
    List<DryRunResult> dryRun = new ArrayList<>();
    for (AuthorizationPolicy p : applicable) {
      if (p.action() == Action.AUDIT && !p.dryRun() && policyMatches(p, r)) {
        audit.add(p.ref());
      }
      if (p.dryRun() && p.action() != Action.AUDIT && customApplies(p, http) && policyMatches(p, r)) {
        Outcome would = switch (p.action()) {
          case ALLOW -> Outcome.ALLOW;
          case CUSTOM -> mesh.extensionProviders().containsKey(providerName(p)) && decider.allows(providerName(p))
              ? Outcome.ALLOW : Outcome.DENY;
          default -> Outcome.DENY;
        };
        dryRun.add(new DryRunResult(p.ref(), would));
      }
    }
    audit.sort(null);
    return new Verdict(decided.outcome(), decided.policy(), decided.action(), decided.rule(), audit, dryRun, called);
  }

  private static String providerName(AuthorizationPolicy p) {
    return p.provider() == null ? "" : p.provider();
  }

  /** A CUSTOM policy whose provider is an HTTP ext_authz service does nothing on TCP. */
  private boolean customApplies(AuthorizationPolicy p, boolean http) {
    if (p.action() != Action.CUSTOM || http) {
      return true;
    }
    ExtensionProvider provider = mesh.extensionProviders().get(providerName(p));
    return provider == null || provider.grpc();
  }

  private int[] firstMatch(List<AuthorizationPolicy> applicable, java.util.function.Predicate<AuthorizationPolicy> which,
      RequestAttributes r) {
    for (int i = 0; i < applicable.size(); i++) {
      AuthorizationPolicy p = applicable.get(i);
      if (!which.test(p)) {
        continue;
      }
      for (int j = 0; j < p.rules().size(); j++) {
        if (ruleMatches(p, p.rules().get(j), r)) {
          return new int[] {i, j};
        }
      }
    }
    return null;
  }

  private boolean policyMatches(AuthorizationPolicy p, RequestAttributes r) {
    return p.rules().stream().anyMatch(rule -> ruleMatches(p, rule, r));
  }

  // --- scope ---

  private boolean applies(AuthorizationPolicy p, Workload w) {
    if (!p.namespace().equals(mesh.rootNamespace()) && !p.namespace().equals(w.namespace())) {
      return false;
    }
    String gateway = w.labels().get(Workload.GATEWAY_NAME_LABEL);
    boolean selected = p.selector().entrySet().stream().allMatch(e -> e.getValue().equals(w.labels().get(e.getKey())));
    if (p.targetRefs().isEmpty()) {
      return selected;
    }
    if (gateway == null || !p.namespace().equals(w.namespace())) {
      return false;
    }
    for (TargetRef t : p.targetRefs()) {
      if (t.group().equals("gateway.networking.k8s.io") && t.kind().equals("Gateway") && t.name().equals(gateway)
          && (t.namespace().isEmpty() || t.namespace().equals(w.namespace()))) {
        return true;
      }
    }
    return false;
  }

  // --- rules ---

  private boolean ruleMatches(AuthorizationPolicy p, Rule rule, RequestAttributes r) {
    boolean tcp = r.http() == null;
    boolean strict = p.action() == Action.ALLOW;
    if (tcp && strict && usesHttpOnly(rule)) {
      return false; // Istio drops the whole ALLOW rule from the TCP filter chain
    }
    boolean from = rule.from().isEmpty() || rule.from().stream().anyMatch(s -> sourceMatches(p, s, r));
    boolean to = rule.to().isEmpty() || rule.to().stream().anyMatch(o -> operationMatches(o, r));
    boolean when = rule.when().stream().allMatch(c -> conditionMatches(p, c, r));
    return from && to && when;
  }

  private static boolean usesHttpOnly(Rule rule) {
    for (Source s : rule.from()) {
      if (!s.requestPrincipals().isEmpty() || !s.notRequestPrincipals().isEmpty()) {
        return true;
      }
    }
    for (Operation o : rule.to()) {
      if (!o.hosts().isEmpty() || !o.notHosts().isEmpty() || !o.methods().isEmpty() || !o.notMethods().isEmpty()
          || !o.paths().isEmpty() || !o.notPaths().isEmpty()) {
        return true;
      }
    }
    return rule.when().stream().anyMatch(c -> isHttpOnlyKey(c.key()));
  }

  private static boolean isHttpOnlyKey(String key) {
    return key.startsWith("request.headers") || key.startsWith("request.auth.");
  }

  /** values (any) and not notValues (none); on TCP an HTTP-only field is simply absent. */
  private static boolean field(List<String> values, List<String> notValues, java.util.function.Predicate<String> m,
      boolean skip) {
    if (skip) {
      return true;
    }
    boolean pos = values.isEmpty() || values.stream().anyMatch(m);
    boolean neg = notValues.stream().anyMatch(m);
    return pos && !neg;
  }

  private boolean sourceMatches(AuthorizationPolicy p, Source s, RequestAttributes r) {
    boolean tcp = r.http() == null;
    return field(s.principals(), s.notPrincipals(), v -> principal(v, r), false)
        && field(s.requestPrincipals(), s.notRequestPrincipals(), v -> requestPrincipal(v, r), tcp)
        && field(s.namespaces(), s.notNamespaces(), v -> namespace(v, r), false)
        && field(s.ipBlocks(), s.notIpBlocks(), v -> cidr(v, r.sourceIp()), false)
        && field(s.remoteIpBlocks(), s.notRemoteIpBlocks(), v -> cidr(v, r.remoteIp()), false)
        && field(s.serviceAccounts(), s.notServiceAccounts(), v -> serviceAccount(p, v, r), false);
  }

  private static boolean operationMatches(Operation o, RequestAttributes r) {
    boolean tcp = r.http() == null;
    return field(o.hosts(), o.notHosts(), v -> header(v, tcp ? null : r.http().host(), true), tcp)
        && field(o.ports(), o.notPorts(), v -> Integer.parseInt(v) == r.destinationPort(), false)
        && field(o.methods(), o.notMethods(), v -> header(v, tcp ? null : r.http().method(), false), tcp)
        && field(o.paths(), o.notPaths(), v -> path(v, r), tcp);
  }

  private boolean conditionMatches(AuthorizationPolicy p, Condition c, RequestAttributes r) {
    boolean tcp = r.http() == null;
    String k = c.key();
    java.util.function.Predicate<String> m;
    if (k.startsWith("experimental.envoy.filters.")) {
      return false;
    } else if (k.equals("source.ip")) {
      m = v -> cidr(v, r.sourceIp());
    } else if (k.equals("remote.ip")) {
      m = v -> cidr(v, r.remoteIp());
    } else if (k.equals("destination.ip")) {
      m = v -> cidr(v, r.destinationIp());
    } else if (k.equals("destination.port")) {
      m = v -> Integer.parseInt(v) == r.destinationPort();
    } else if (k.equals("connection.sni")) {
      m = v -> string(v, r.sni() == null ? "" : r.sni());
    } else if (k.equals("source.namespace")) {
      m = v -> namespace(v, r);
    } else if (k.equals("source.principal")) {
      m = v -> principal(v, r);
    } else if (k.equals("source.serviceAccount")) {
      m = v -> serviceAccount(p, v, r);
    } else if (k.equals("request.auth.principal")) {
      m = v -> requestPrincipal(v, r);
    } else if (k.equals("request.auth.audiences")) {
      m = v -> claim(List.of("aud"), v, r);
    } else if (k.equals("request.auth.presenter")) {
      m = v -> claim(List.of("azp"), v, r);
    } else if (k.startsWith("request.headers[")) {
      String name = k.substring("request.headers[".length(), k.length() - 1).toLowerCase(java.util.Locale.ROOT);
      m = v -> header(v, tcp ? null : r.http().headers().get(name), false);
    } else if (k.startsWith("request.auth.claims[")) {
      String inner = k.substring("request.auth.claims[".length(), k.length() - 1);
      List<String> path = List.of(inner.split("\\]\\[", -1));
      m = v -> claim(path, v, r);
    } else {
      throw new IllegalArgumentException("the reference does not know key " + k);
    }
    return field(c.values(), c.notValues(), m, tcp && isHttpOnlyKey(k));
  }

  // --- value forms ---

  /** Istio's StringMatcher(v): * is .+, *x suffix, x* prefix, else exact. */
  private static boolean string(String v, String actual) {
    if (actual == null) {
      return false;
    }
    if (v.equals("*")) {
      return !actual.isEmpty() && actual.indexOf('\n') < 0;
    }
    if (v.startsWith("*")) {
      return actual.endsWith(v.substring(1));
    }
    if (v.endsWith("*")) {
      return actual.startsWith(v.substring(0, v.length() - 1));
    }
    return actual.equals(v);
  }

  /** Istio's HeaderMatcher/HostMatcher: * is "present". */
  private static boolean header(String v, String actual, boolean ignoreCase) {
    if (actual == null) {
      return false;
    }
    if (v.equals("*")) {
      return true;
    }
    String a = ignoreCase ? actual.toLowerCase(java.util.Locale.ROOT) : actual;
    String w = ignoreCase ? v.toLowerCase(java.util.Locale.ROOT) : v;
    return string(w, a);
  }

  private List<String> trustDomains() {
    Set<String> all = new LinkedHashSet<>();
    all.add(mesh.trustDomain());
    all.addAll(mesh.trustDomainAliases());
    return List.copyOf(all);
  }

  private boolean principal(String v, RequestAttributes r) {
    String actual = r.sourcePrincipal();
    if (actual == null || actual.isEmpty()) {
      return false;
    }
    List<String> expanded = new ArrayList<>();
    String[] parts = v.split("/", -1);
    boolean local = parts.length == 5 && !parts[0].equals("*")
        && (parts[0].equals("cluster.local") || trustDomains().contains(parts[0]));
    if (local) {
      for (String td : trustDomains()) {
        expanded.add(td + v.substring(parts[0].length()));
      }
    } else {
      expanded.add(v);
    }
    for (String e : expanded) {
      boolean hit;
      if (e.equals("*")) {
        hit = !actual.isEmpty();
      } else if (e.startsWith("*")) {
        hit = Pattern.compile("spiffe://.*" + e.substring(1)).matcher(actual).matches();
      } else if (e.endsWith("*")) {
        hit = actual.startsWith("spiffe://" + e.substring(0, e.length() - 1));
      } else {
        hit = actual.equals("spiffe://" + e);
      }
      if (hit) {
        return true;
      }
    }
    return false;
  }

  private static boolean namespace(String v, RequestAttributes r) {
    String actual = r.sourcePrincipal();
    return actual != null && Pattern.compile(".*/ns/" + v.replace("*", ".*") + "/.*").matcher(actual).matches();
  }

  private static boolean serviceAccount(AuthorizationPolicy p, String v, RequestAttributes r) {
    String actual = r.sourcePrincipal();
    String ns = v.contains("/") ? v.substring(0, v.indexOf('/')) : p.namespace();
    String sa = v.contains("/") ? v.substring(v.indexOf('/') + 1) : v;
    return actual != null && Pattern.compile("spiffe://.+/ns/" + ns + "/(.+/|)sa/" + sa + "(/.+)?").matcher(actual).matches();
  }

  private static boolean requestPrincipal(String v, RequestAttributes r) {
    String iss = stringClaim(r.jwtPayload(), "iss");
    String sub = stringClaim(r.jwtPayload(), "sub");
    if (iss == null || sub == null) {
      return false;
    }
    int slash = v.lastIndexOf('/');
    String vi = slash < 0 ? v : v.substring(0, slash);
    String vs = slash < 0 ? "" : v.substring(slash + 1);
    if (v.equals("*")) {
      return !iss.isEmpty() && !sub.isEmpty();
    }
    if (v.startsWith("*")) {
      if (slash < 0) {
        return !iss.isEmpty() && sub.endsWith(v.substring(1));
      }
      return (vi.equals("*") ? !iss.isEmpty() : iss.endsWith(vi.substring(1))) && sub.equals(vs);
    }
    if (v.endsWith("*")) {
      if (slash < 0) {
        return iss.startsWith(v.substring(0, v.length() - 1)) && !sub.isEmpty();
      }
      return iss.equals(vi) && (vs.equals("*") ? !sub.isEmpty() : sub.startsWith(vs.substring(0, vs.length() - 1)));
    }
    return iss.equals(vi) && sub.equals(vs);
  }

  private static String stringClaim(Struct jwt, String name) {
    if (jwt == null || !jwt.containsFields(name)) {
      return null;
    }
    Value v = jwt.getFieldsOrThrow(name);
    return v.hasStringValue() ? v.getStringValue() : null;
  }

  private static boolean claim(List<String> path, String v, RequestAttributes r) {
    Struct s = r.jwtPayload();
    if (s == null) {
      return false;
    }
    Value current = null;
    for (int i = 0; i < path.size(); i++) {
      if (s == null || !s.containsFields(path.get(i))) {
        return false;
      }
      current = s.getFieldsOrThrow(path.get(i));
      s = current.hasStructValue() ? current.getStructValue() : null;
    }
    List<String> candidates = new ArrayList<>();
    if (current.hasStringValue()) {
      boolean split = path.size() == 1 && (path.get(0).equals("scope") || path.get(0).equals("permission"));
      if (split) {
        for (String token : current.getStringValue().split(" ")) {
          if (!token.isEmpty()) {
            candidates.add(token);
          }
        }
      } else {
        candidates.add(current.getStringValue());
      }
    } else if (current.hasListValue()) {
      for (Value e : current.getListValue().getValuesList()) {
        if (e.hasStringValue()) {
          candidates.add(e.getStringValue());
        }
      }
    }
    return candidates.stream().anyMatch(c -> string(v, c));
  }

  private static final String PCHAR = "[a-zA-Z0-9\\-._~%!$&'()+,;:@]";

  private static boolean path(String v, RequestAttributes r) {
    String p = r.http().path();
    for (int i = 0; i < p.length(); i++) {
      if (p.charAt(i) == '?' || p.charAt(i) == '#') {
        p = p.substring(0, i);
        break;
      }
    }
    if (v.contains("{*}") || v.contains("{**}")) {
      StringBuilder regex = new StringBuilder();
      for (String piece : v.split("(?=\\{\\*\\*?\\})|(?<=\\})", -1)) {
        if (piece.equals("{*}")) {
          regex.append(PCHAR).append('+');
        } else if (piece.equals("{**}")) {
          regex.append("(?:").append(PCHAR).append("|/)*");
        } else if (!piece.isEmpty()) {
          regex.append(Pattern.quote(piece));
        }
      }
      return Pattern.compile(regex.toString()).matcher(p).matches();
    }
    return string(v, p);
  }

  private static boolean cidr(String v, IpAddress ip) {
    if (ip == null) {
      return false;
    }
    String[] parts = v.split("/");
    IpAddress base = IpAddress.parse(parts[0]).orElseThrow();
    int bits = base.length() * 8;
    int len = parts.length == 2 ? Integer.parseInt(parts[1]) : bits;
    if (base.length() != ip.length()) {
      return false;
    }
    BigInteger a = new BigInteger(1, base.bytes()).shiftRight(bits - len);
    BigInteger b = new BigInteger(1, ip.bytes()).shiftRight(bits - len);
    return a.equals(b);
  }
}

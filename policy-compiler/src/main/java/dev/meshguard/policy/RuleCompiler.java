package dev.meshguard.policy;

import com.google.protobuf.Value;
import dev.meshguard.core.spiffe.TrustDomainAliases;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Turns one {@link Rule} into the {@link CompiledRule} Envoy would evaluate, following istio/istio
 * {@code pilot/pkg/security/authz/model/{model,generator}.go} and {@code builder/builder.go}:
 *
 * <ul>
 *   <li>{@code from}, {@code to} and {@code when} as in {@code model.New}; principals expanded
 *       over the trust domain and its aliases ({@code MigrateTrustDomain}).
 *   <li>A value Istio cannot turn into a matcher (a malformed CIDR or port, a malformed header or
 *       claim key, and on TCP every HTTP-only field) is handled by {@code rule.checkError}: in an
 *       ALLOW policy the whole rule is dropped (it never matches); in DENY, AUDIT and CUSTOM (built
 *       with the DENY action) only that value, or that field, is dropped, which widens the rule.
 *   <li>A condition with an unknown key makes {@code model.New} fail, and the rule is skipped for
 *       every action.
 * </ul>
 *
 * <p>The HTTP-only attributes are hosts, methods, paths, requestPrincipals (each with its not-
 * form) and the {@code request.headers[...]} and {@code request.auth.*} keys.
 */
final class RuleCompiler {

  private static final String SPIFFE = "spiffe://";

  private final AuthorizationPolicy policy;
  private final TrustDomainAliases trustDomains;
  private final Map<Condition, CelConditions.Condition> cel;

  RuleCompiler(AuthorizationPolicy policy, TrustDomainAliases trustDomains, Map<Condition, CelConditions.Condition> cel) {
    this.policy = policy;
    this.trustDomains = trustDomains;
    this.cel = cel;
  }

  /**
   * The rule for one protocol, or the reason it never matches there.
   *
   * @param rule the compiled rule, or null
   * @param dropped why there is no rule (null when there is one)
   */
  record Result(CompiledRule rule, String dropped) {}

  /**
   * @param strict true for ALLOW (a value that cannot be evaluated drops the rule), false for
   *     DENY, AUDIT and CUSTOM (it drops the value)
   */
  Result compile(Rule rule, boolean forTcp, boolean strict) {
    List<FieldSpec> when = new ArrayList<>();
    for (Condition c : rule.when()) {
      FieldSpec spec = condition(c);
      if (spec == null) {
        return new Result(null, "skipped: unknown condition key \"" + c.key() + "\" (Istio skips such a rule)");
      }
      when.add(spec);
    }
    List<Clause> from = new ArrayList<>();
    for (int i = 0; i < rule.from().size(); i++) {
      Built b = build(source(rule.from().get(i)), forTcp, strict);
      if (b.dropped != null) {
        return new Result(null, b.dropped);
      }
      from.add(new Clause("from[" + i + "]", b.fields));
    }
    List<Clause> to = new ArrayList<>();
    for (int i = 0; i < rule.to().size(); i++) {
      Built b = build(operation(rule.to().get(i)), forTcp, strict);
      if (b.dropped != null) {
        return new Result(null, b.dropped);
      }
      to.add(new Clause("to[" + i + "]", b.fields));
    }
    Built w = build(when, forTcp, strict);
    if (w.dropped != null) {
      return new Result(null, w.dropped);
    }
    return new Result(new CompiledRule(from.toArray(new Clause[0]), to.toArray(new Clause[0]), w.fields), null);
  }

  private record Built(Field[] fields, String dropped) {}

  private Built build(List<FieldSpec> specs, boolean forTcp, boolean strict) {
    List<Field> fields = new ArrayList<>();
    for (FieldSpec s : specs) {
      if (forTcp && s.httpOnly) {
        if (strict) {
          return new Built(null, "never matches on TCP: it uses the HTTP-only " + s.describe()
              + " (Istio drops such ALLOW rules from TCP filter chains)");
        }
        continue; // DENY/AUDIT/CUSTOM: the field is dropped, widening the rule
      }
      if (s.keyError != null) {
        if (strict) {
          return new Built(null, "never matches: " + s.keyError);
        }
        continue;
      }
      List<Term> positive = new ArrayList<>();
      for (String v : s.positive) {
        List<Term> terms = s.factory.apply(v);
        if (terms == null) {
          if (strict) {
            return new Built(null, "never matches: invalid value \"" + v + "\" in " + s.positiveName);
          }
          continue;
        }
        positive.addAll(terms);
      }
      List<Term> negative = new ArrayList<>();
      for (String v : s.negative) {
        List<Term> terms = s.factory.apply(v);
        if (terms == null) {
          if (strict) {
            return new Built(null, "never matches: invalid value \"" + v + "\" in " + s.negativeName);
          }
          continue;
        }
        negative.addAll(terms);
      }
      if (positive.isEmpty() && negative.isEmpty() && !s.never) {
        continue;
      }
      fields.add(new Field(s.label, s.positiveName, s.negativeName,
          positive.isEmpty() ? List.of() : s.positive, negative.isEmpty() ? List.of() : s.negative,
          positive.toArray(new Term[0]), negative.toArray(new Term[0]), s.never, s.display));
    }
    return new Built(fields.toArray(new Field[0]), null);
  }

  /**
   * One field before compilation.
   *
   * @param factory the terms for one value, or null when Istio could not build a matcher for it
   * @param keyError set when the field's key itself is malformed (every value then fails)
   */
  private record FieldSpec(String label, String positiveName, String negativeName, List<String> positive,
      List<String> negative, boolean httpOnly, boolean never, String keyError,
      Function<String, List<Term>> factory, Function<Req, String> display) {

    String describe() {
      return positive.isEmpty() ? negativeName : negative.isEmpty() ? positiveName : positiveName + "/" + negativeName;
    }
  }

  private static FieldSpec field(String label, String positiveName, String negativeName, List<String> positive,
      List<String> negative, boolean httpOnly, Function<String, List<Term>> factory, Function<Req, String> display) {
    return new FieldSpec(label, positiveName, negativeName, positive, negative, httpOnly, false, null, factory, display);
  }

  private List<FieldSpec> source(Source s) {
    List<FieldSpec> f = new ArrayList<>();
    add(f, field("principal", "principals", "notPrincipals", s.principals(), s.notPrincipals(), false,
        this::principal, RuleCompiler::showPrincipal));
    add(f, field("request principal", "requestPrincipals", "notRequestPrincipals", s.requestPrincipals(),
        s.notRequestPrincipals(), true, v -> List.of(requestPrincipal(v)), RuleCompiler::showRequestPrincipal));
    add(f, field("namespace", "namespaces", "notNamespaces", s.namespaces(), s.notNamespaces(), false,
        v -> List.of(namespace(v)), RuleCompiler::showNamespace));
    add(f, field("service account", "serviceAccounts", "notServiceAccounts", s.serviceAccounts(),
        s.notServiceAccounts(), false, v -> List.of(serviceAccount(v)), RuleCompiler::showPrincipal));
    add(f, field("source.ip", "ipBlocks", "notIpBlocks", s.ipBlocks(), s.notIpBlocks(), false,
        v -> ip(Term.IpSource.SOURCE, v), r -> show(r.attrs.sourceIp())));
    add(f, field("remote.ip", "remoteIpBlocks", "notRemoteIpBlocks", s.remoteIpBlocks(), s.notRemoteIpBlocks(),
        false, v -> ip(Term.IpSource.REMOTE, v), r -> show(r.attrs.remoteIp())));
    return f;
  }

  private List<FieldSpec> operation(Operation o) {
    List<FieldSpec> f = new ArrayList<>();
    add(f, field("host", "hosts", "notHosts", o.hosts(), o.notHosts(), true,
        v -> List.of(new Term.Str(Term.Std.HOST, StrMatcher.header(v, true))), r -> r.http == null ? "(none)" : r.http.host()));
    add(f, field("port", "ports", "notPorts", o.ports(), o.notPorts(), false, RuleCompiler::port,
        r -> String.valueOf(r.attrs.destinationPort())));
    add(f, field("method", "methods", "notMethods", o.methods(), o.notMethods(), true,
        v -> List.of(new Term.Str(Term.Std.METHOD, StrMatcher.header(v, false))), r -> r.http == null ? "(none)" : r.http.method()));
    add(f, field("path", "paths", "notPaths", o.paths(), o.notPaths(), true,
        v -> List.of(new Term.Str(Term.Std.URL_PATH, path(v))), r -> r.http == null ? "(none)" : r.urlPath()));
    return f;
  }

  private static void add(List<FieldSpec> fields, FieldSpec spec) {
    if (!spec.positive.isEmpty() || !spec.negative.isEmpty()) {
      fields.add(spec);
    }
  }

  /** A {@code when} condition, or null for a key Istio does not know. */
  private FieldSpec condition(Condition c) {
    if (c.cel() != null) {
      CelConditions.Condition compiled = cel.get(c);
      Term term = new Term.Cel(compiled, policy.action() != dev.meshguard.policy.model.Action.ALLOW);
      String label = "cel `" + c.cel() + "`";
      return new FieldSpec(label, "cel", "cel", List.of(c.cel()), List.of(), false, false, null,
          v -> List.of(term), r -> {
            String error = compiled.evaluationError(r);
            return error == null ? "evaluated to " + compiled.evaluate(r) : "failed (" + error + ")";
          });
    }
    String k = c.key();
    List<String> values = c.values();
    List<String> notValues = c.notValues();
    if (k.equals("destination.ip")) {
      return field(k, "values", "notValues", values, notValues, false, v -> ip(Term.IpSource.DESTINATION, v),
          r -> show(r.attrs.destinationIp()));
    }
    if (k.equals("destination.port")) {
      return field(k, "values", "notValues", values, notValues, false, RuleCompiler::port,
          r -> String.valueOf(r.attrs.destinationPort()));
    }
    if (k.equals("connection.sni")) {
      return field(k, "values", "notValues", values, notValues, false,
          v -> List.of(new Term.Str(Term.Std.SNI, StrMatcher.istio(v))), r -> r.sni().isEmpty() ? "(none)" : r.sni());
    }
    if (k.startsWith("experimental.envoy.filters.")) {
      // Istio splits "envoy.filters.a.b[c]" at the first '[' and refuses a key without one.
      String keyError = k.indexOf('[') >= 0 ? null : "invalid key " + k + " (expected experimental.envoy.filters.<filter>[<key>])";
      return new FieldSpec(k, "values", "notValues", values, notValues, false, true, keyError,
          v -> List.of(), r -> "(dynamic metadata)");
    }
    if (k.equals("source.ip")) {
      return field(k, "values", "notValues", values, notValues, false, v -> ip(Term.IpSource.SOURCE, v),
          r -> show(r.attrs.sourceIp()));
    }
    if (k.equals("remote.ip")) {
      return field(k, "values", "notValues", values, notValues, false, v -> ip(Term.IpSource.REMOTE, v),
          r -> show(r.attrs.remoteIp()));
    }
    if (k.equals("source.namespace")) {
      return field(k, "values", "notValues", values, notValues, false, v -> List.of(namespace(v)),
          RuleCompiler::showNamespace);
    }
    if (k.equals("source.serviceAccount")) {
      return field(k, "values", "notValues", values, notValues, false, v -> List.of(serviceAccount(v)),
          RuleCompiler::showPrincipal);
    }
    if (k.equals("source.principal")) {
      return field(k, "values", "notValues", values, notValues, false, this::principal, RuleCompiler::showPrincipal);
    }
    if (k.equals("request.auth.principal")) {
      return field(k, "values", "notValues", values, notValues, true, v -> List.of(requestPrincipal(v)),
          RuleCompiler::showRequestPrincipal);
    }
    if (k.equals("request.auth.audiences")) {
      return claimField(k, List.of("aud"), values, notValues);
    }
    if (k.equals("request.auth.presenter")) {
      return claimField(k, List.of("azp"), values, notValues);
    }
    if (k.startsWith("request.headers")) {
      String name = inBrackets(k.substring("request.headers".length()));
      if (name == null) {
        return new FieldSpec(k, "values", "notValues", values, notValues, true, false,
            "malformed key " + k + " (expected request.headers[<name>])", v -> null, r -> "");
      }
      String lower = StrMatcher.lowerAscii(name);
      Term.Header header = new Term.Header(lower);
      return field(k, "values", "notValues", values, notValues, true,
          v -> List.of(new Term.Str(header, StrMatcher.header(v, false))), r -> {
            String h = r.header(lower);
            return h == null ? "(absent)" : h;
          });
    }
    if (k.startsWith("request.auth.claims")) {
      List<String> path = nestedNames(k.substring("request.auth.claims".length()));
      if (path == null) {
        return new FieldSpec(k, "values", "notValues", values, notValues, true, false,
            "malformed key " + k + " (expected request.auth.claims[<name>]...)", v -> null, r -> "");
      }
      return claimField(k, path, values, notValues);
    }
    return null;
  }

  private static FieldSpec claimField(String key, List<String> path, List<String> values, List<String> notValues) {
    return field(key, "values", "notValues", values, notValues, true,
        v -> List.of(new Term.Claim(path, StrMatcher.istio(v))), r -> showClaim(r, path));
  }

  // --- value factories: null means Istio could not build a matcher for the value ---

  /** Principals: expanded over the trust domains, then {@code spiffe://} prepended. */
  private List<Term> principal(String v) {
    List<Term> terms = new ArrayList<>();
    for (String p : expandTrustDomain(v)) {
      terms.add(new Term.Str(Term.Std.PRINCIPAL, StrMatcher.istio(p, SPIFFE)));
    }
    return terms;
  }

  /**
   * Istio's {@code trustdomain.Bundle.ReplaceTrustDomainAliases}, as core's
   * {@link TrustDomainAliases#expand} implements it (the RBAC emitter uses the same rule).
   */
  List<String> expandTrustDomain(String principal) {
    return trustDomains.expand(principal);
  }

  private static Term namespace(String v) {
    if (isPlainName(v)) {
      return new Term.Namespace(v);
    }
    return new Term.Str(Term.Std.PRINCIPAL, StrMatcher.regex(".*/ns/" + v.replace("*", ".*") + "/.*"));
  }

  private static boolean isPlainName(String v) {
    if (v.isEmpty()) {
      return false;
    }
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  /** Istio's {@code serviceAccountRegex}: {@code ns/sa}, or {@code sa} in the policy's namespace. */
  private Term serviceAccount(String v) {
    int slash = v.indexOf('/');
    String ns = slash < 0 ? policy.namespace() : v.substring(0, slash);
    String sa = slash < 0 ? v : v.substring(slash + 1);
    return new Term.Str(Term.Std.PRINCIPAL,
        StrMatcher.regex("spiffe://.+/ns/" + ns + "/(.+/|)sa/" + sa + "(/.+)?"));
  }

  /** Istio's {@code requestPrincipalGenerator}: split at the last {@code /} into issuer and subject. */
  static Term requestPrincipal(String value) {
    int idx = value.lastIndexOf('/');
    boolean found = idx >= 0;
    String iss = found ? value.substring(0, idx) : value;
    String sub = found ? value.substring(idx + 1) : "";
    StrMatcher matchIss;
    StrMatcher matchSub;
    if (value.equals("*")) {
      matchIss = StrMatcher.NON_EMPTY;
      matchSub = StrMatcher.NON_EMPTY;
    } else if (value.startsWith("*")) {
      if (found) {
        matchIss = iss.equals("*") ? StrMatcher.NON_EMPTY : new StrMatcher.Suffix(iss.substring(1), false);
        matchSub = new StrMatcher.Exact(sub, false);
      } else {
        matchIss = StrMatcher.NON_EMPTY;
        matchSub = new StrMatcher.Suffix(value.substring(1), false);
      }
    } else if (value.endsWith("*")) {
      if (found) {
        matchIss = new StrMatcher.Exact(iss, false);
        matchSub = sub.equals("*") ? StrMatcher.NON_EMPTY : new StrMatcher.Prefix(sub.substring(0, sub.length() - 1), false);
      } else {
        matchIss = new StrMatcher.Prefix(value.substring(0, value.length() - 1), false);
        matchSub = StrMatcher.NON_EMPTY;
      }
    } else {
      matchIss = new StrMatcher.Exact(iss, false);
      matchSub = new StrMatcher.Exact(sub, false);
    }
    return new Term.RequestPrincipal(matchIss, matchSub);
  }

  private static List<Term> ip(Term.IpSource source, String v) {
    return Cidr.parse(v).<List<Term>>map(c -> List.of(new Term.Ip(source, c))).orElse(null);
  }

  /** Go's {@code strconv.ParseUint(v, 10, 32)} and at most 65535. */
  private static List<Term> port(String v) {
    if (v.isEmpty() || v.length() > 10) {
      return null;
    }
    long p = 0;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return null;
      }
      p = p * 10 + (c - '0');
    }
    return p > 65535 ? null : List.of(new Term.Port((int) p));
  }

  private static StrMatcher path(String v) {
    if (PathTemplate.isTemplate(v)) {
      PathTemplate t = PathTemplate.parse(v);
      return t == null ? StrMatcher.NEVER : new StrMatcher.Template(t);
    }
    return StrMatcher.istio(v);
  }

  /** Istio's {@code extractNameInBrackets}: {@code [name]} to {@code name}, else null. */
  static String inBrackets(String s) {
    if (!s.startsWith("[") || !s.endsWith("]") || s.length() < 2) {
      return null;
    }
    return s.substring(1, s.length() - 1);
  }

  /** Istio's {@code extractNameInNestedBrackets}: {@code [a][b]} to [a, b]; else one name or null. */
  static List<String> nestedNames(String s) {
    List<String> names = new ArrayList<>();
    int begin = 0;
    while (begin < s.length()) {
      int end = -1;
      if (s.charAt(begin) == '[') {
        for (int i = begin + 1; i < s.length(); i++) {
          if (s.charAt(i) == '[') {
            break;
          }
          if (s.charAt(i) == ']') {
            end = i;
            break;
          }
        }
      }
      if (end == -1) {
        String single = inBrackets(s);
        return single == null ? null : List.of(single);
      }
      names.add(s.substring(begin + 1, end));
      begin = end + 1;
    }
    return names;
  }

  // --- how explain shows a request's value ---

  private static String showPrincipal(Req r) {
    return r.principal == null ? "(none: plaintext)" : r.principal;
  }

  private static String showNamespace(Req r) {
    String ns = CelConditions.namespaceOf(r.principal);
    return r.principal == null ? "(none: plaintext)" : ns == null ? "(none in " + r.principal + ")" : ns;
  }

  private static String showRequestPrincipal(Req r) {
    if (r.jwt == null) {
      return "(none: no JWT)";
    }
    return r.stringClaim("iss") + "/" + r.stringClaim("sub");
  }

  private static String show(IpAddress ip) {
    return ip == null ? "(unknown)" : ip.toString();
  }

  private static String showClaim(Req r, List<String> path) {
    if (r.jwt == null) {
      return "(none: no JWT)";
    }
    Value v = r.claim(path);
    if (v == null) {
      return "(absent)";
    }
    return switch (v.getKindCase()) {
      case STRING_VALUE -> v.getStringValue();
      case LIST_VALUE -> v.getListValue().getValuesList().stream()
          .map(e -> e.getKindCase() == Value.KindCase.STRING_VALUE ? e.getStringValue() : e.toString().trim())
          .toList().toString();
      default -> v.toString().trim();
    };
  }
}

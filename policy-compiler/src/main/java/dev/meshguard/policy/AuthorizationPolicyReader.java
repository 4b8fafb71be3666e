package dev.meshguard.policy;

import static dev.meshguard.policy.ResourceReader.maxItems;
import static dev.meshguard.policy.ResourceReader.nonNull;
import static dev.meshguard.policy.ResourceReader.values;

import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.policy.IstioChecks.KeyCheck;
import dev.meshguard.policy.ResourceReader.Meta;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates the {@code spec} of one AuthorizationPolicy, giving the verdicts of Istio's
 * validation webhook (istio/istio {@code pkg/config/validation/validation.go}
 * ValidateAuthorizationPolicy, the metadata check of {@code istio.io/dry-run}) and of the CRD's
 * structural schema (field types, {@code maxItems}, the selector/targetRef rule), each error at the
 * value it is about. meshguard.dev/v1 adds {@code when[].cel}.
 */
final class AuthorizationPolicyReader {

  /** CRD limits ({@code maxItems}) of istio/api's AuthorizationPolicy schema. */
  static final int MAX_RULES = 512;
  static final int MAX_FROM = 512;
  static final int MAX_TARGET_REFS = 16;
  static final int MAX_LABELS = 4096;
  static final int MAX_LABEL_VALUE_LENGTH = 63;

  private static final Set<String> SPEC = Set.of("selector", "targetRef", "targetRefs", "rules", "action", "provider");
  private static final Set<String> RULE = Set.of("from", "to", "when");
  private static final Set<String> FROM = Set.of("source");
  private static final Set<String> TO = Set.of("operation");
  private static final Set<String> SOURCE = Set.of("principals", "notPrincipals", "requestPrincipals",
      "notRequestPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks",
      "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts");
  private static final Set<String> OPERATION = Set.of("hosts", "notHosts", "ports", "notPorts", "methods",
      "notMethods", "paths", "notPaths");
  private static final Set<String> CONDITION = Set.of("key", "values", "notValues");
  private static final Set<String> MESHGUARD_CONDITION = Set.of("key", "values", "notValues", "cel");
  private static final Set<String> PROVIDER = Set.of("name");

  /** Source fields that work on TCP: with one of them a DENY rule is not "HTTP only" (validation.go). */
  private static final List<String> TCP_SOURCE_FIELDS = List.of("principals", "notPrincipals", "ipBlocks",
      "notIpBlocks", "namespaces", "notNamespaces", "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts",
      "notServiceAccounts");

  /** Source fields the CUSTOM action does not support (validation.go, in its order). */
  private static final List<String> CUSTOM_UNSUPPORTED_SOURCE = List.of("namespaces", "notNamespaces",
      "serviceAccounts", "notServiceAccounts", "principals", "notPrincipals", "requestPrincipals",
      "notRequestPrincipals");

  static final String DENY_TCP_WARNING = "configured AuthorizationPolicy will deny all traffic to TCP ports under "
      + "its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify "
      + "the port";

  private final Diagnostics diagnostics;
  private final boolean meshguard;
  private final String apiVersion;
  private Action action = Action.ALLOW;
  private boolean actionKnown = true;

  AuthorizationPolicyReader(Diagnostics diagnostics, boolean meshguard, String apiVersion) {
    this.diagnostics = diagnostics;
    this.meshguard = meshguard;
    this.apiVersion = apiVersion;
  }

  /**
   * Reads the policy; null when {@code meta} is (the envelope had errors). Errors go to the
   * diagnostics; a policy is returned even then, and the caller drops it.
   *
   * @param spec null when the resource has no {@code spec} (an empty spec: ALLOW nothing)
   */
  AuthorizationPolicy read(Meta meta, Fields spec, Fields root) {
    String provider = null;
    Map<String, String> selector = Map.of();
    List<TargetRef> targetRefs = new ArrayList<>();
    List<Rule> rules = new ArrayList<>();
    if (spec != null) {
      spec.rejectUnknown(SPEC);
      readAction(spec);
      Fields providerFields = spec.mapping("provider");
      if (providerFields != null) {
        providerFields.rejectUnknown(PROVIDER);
        Located<String> name = providerFields.string("name");
        provider = name == null ? "" : name.value();
      }
      selector = Selectors.selector(diagnostics, spec);
      targetRefs = Selectors.targetRefs(diagnostics, spec, MAX_TARGET_REFS);
      Selectors.checkOneOf(diagnostics, spec);
      List<YamlNode> ruleNodes = spec.list("rules");
      maxItems(diagnostics, spec, "rules", ruleNodes, MAX_RULES);
      checkActionAndProvider(spec, ruleNodes, providerFields, provider);
      if (ruleNodes != null) {
        for (int i = 0; i < ruleNodes.size(); i++) {
          Rule rule = rule(ruleNodes.get(i), Nodes.element(spec.childPath("rules"), i));
          if (rule != null) {
            rules.add(rule);
          }
        }
      }
    }
    boolean dryRun = dryRun(meta);
    if (meta == null) {
      return null;
    }
    return new AuthorizationPolicy(apiVersion, meta.namespace(), meta.name(), meta.annotationValues(), dryRun,
        selector, targetRefs, action, provider, rules, meta.position());
  }

  private void readAction(Fields spec) {
    YamlNode node = spec.node("action");
    if (node instanceof Scalar scalar && scalar.type() != Scalar.Type.STRING) {
      actionKnown = false;
      diagnostics.error(node.mark(), spec.childPath("action"), "must be one of ALLOW, DENY, AUDIT, CUSTOM, found "
          + Nodes.describe(node));
      return;
    }
    Located<String> value = spec.string("action");
    if (value == null) {
      actionKnown = !spec.has("action");
      return;
    }
    switch (value.value()) {
      case "ALLOW" -> action = Action.ALLOW;
      case "DENY" -> action = Action.DENY;
      case "AUDIT" -> action = Action.AUDIT;
      case "CUSTOM" -> action = Action.CUSTOM;
      default -> {
        actionKnown = false;
        diagnostics.error(value.mark(), value.path(), "unknown action " + Nodes.quote(value.value())
            + "; must be one of ALLOW, DENY, AUDIT, CUSTOM");
      }
    }
  }

  /** The CUSTOM/provider/DENY rules of validation.go, in its order. */
  private void checkActionAndProvider(Fields spec, List<YamlNode> rules, Fields providerFields, String provider) {
    if (!actionKnown) {
      return;
    }
    // proto3 cannot tell `rules: []` from no rules; both are "without rules".
    boolean noRules = rules == null || rules.isEmpty();
    Mark actionMark = spec.keyMark("action");
    String actionPath = spec.childPath("action");
    if (action == Action.CUSTOM) {
      if (noRules) {
        diagnostics.error(actionMark, actionPath, "CUSTOM action without rules is meaningless as it will never be "
            + "triggered; add an empty rule {} if you want it triggered for every request");
      } else if (provider == null) {
        diagnostics.error(actionMark, actionPath, "CUSTOM action needs provider.name, the extension provider to call");
      } else if (provider.isEmpty()) {
        diagnostics.error(providerFields.keyMark("name"), providerFields.childPath("name"),
            "provider.name must not be empty");
      }
    }
    if (provider != null && action != Action.CUSTOM) {
      diagnostics.error(spec.keyMark("provider"), spec.childPath("provider"),
          "provider must not be set with a non-CUSTOM action, found " + action);
    }
    if (action == Action.DENY && noRules) {
      diagnostics.error(actionMark, actionPath, "DENY action without rules is meaningless as it will never be "
          + "triggered; add an empty rule {} if you want it triggered for every request");
    }
  }

  private Rule rule(YamlNode node, String path) {
    if (node instanceof Null) {
      diagnostics.error(node.mark(), path, "rule must not be null");
      return null;
    }
    Fields rule = Fields.of(diagnostics, node, path);
    if (rule == null) {
      return null;
    }
    rule.rejectUnknown(RULE);
    List<Source> from = new ArrayList<>();
    List<Operation> to = new ArrayList<>();
    List<Condition> when = new ArrayList<>();
    boolean fromRuleExist = false;
    boolean toRuleExist = false;
    boolean tcpRulesInFrom = false;
    boolean tcpRulesInTo = false;

    List<YamlNode> fromNodes = rule.list("from");
    if (fromNodes != null && fromNodes.isEmpty()) {
      diagnostics.error(rule.listMark("from"), rule.childPath("from"), "from must not be empty");
    }
    maxItems(diagnostics, rule, "from", fromNodes, MAX_FROM);
    for (int i = 0; i < nonNull(fromNodes).size(); i++) {
      YamlNode item = fromNodes.get(i);
      String itemPath = Nodes.element(rule.childPath("from"), i);
      Fields f = element(item, itemPath, "from");
      if (f == null) {
        continue;
      }
      f.rejectUnknown(FROM);
      Fields source = f.mapping("source");
      if (source == null) {
        if (!f.has("source")) {
          diagnostics.error(f.mark(), f.childPath("source"), "source must be set");
        }
        continue;
      }
      fromRuleExist = true;
      from.add(source(source));
      tcpRulesInFrom |= TCP_SOURCE_FIELDS.stream().anyMatch(source::has);
    }

    List<YamlNode> toNodes = rule.list("to");
    if (toNodes != null && toNodes.isEmpty()) {
      diagnostics.error(rule.listMark("to"), rule.childPath("to"), "to must not be empty");
    }
    for (int i = 0; i < nonNull(toNodes).size(); i++) {
      YamlNode item = toNodes.get(i);
      String itemPath = Nodes.element(rule.childPath("to"), i);
      Fields t = element(item, itemPath, "to");
      if (t == null) {
        continue;
      }
      t.rejectUnknown(TO);
      Fields operation = t.mapping("operation");
      if (operation == null) {
        if (!t.has("operation")) {
          diagnostics.error(t.mark(), t.childPath("operation"), "operation must be set");
        }
        continue;
      }
      toRuleExist = true;
      to.add(operation(operation));
      tcpRulesInTo |= operation.has("ports") || operation.has("notPorts");
    }

    List<YamlNode> whenNodes = rule.list("when");
    for (int i = 0; i < nonNull(whenNodes).size(); i++) {
      YamlNode item = whenNodes.get(i);
      Fields c = element(item, Nodes.element(rule.childPath("when"), i), "when");
      if (c != null) {
        Condition condition = condition(c);
        if (condition != null) {
          when.add(condition);
        }
      }
    }

    if (actionKnown && action == Action.DENY
        && (fromRuleExist && !toRuleExist && !tcpRulesInFrom || toRuleExist && !tcpRulesInTo)) {
      diagnostics.warning(rule.mark(), path, DENY_TCP_WARNING);
    }
    Mark mark = rule.mark();
    return new Rule(from, to, when, new Position(mark.source(), mark.line(), mark.column()));
  }

  /** One element of from/to/when: a mapping, not null. */
  private Fields element(YamlNode item, String path, String what) {
    if (item instanceof Null) {
      diagnostics.error(item.mark(), path, what + " must not be null");
      return null;
    }
    return Fields.of(diagnostics, item, path);
  }

  private Source source(Fields source) {
    int errorsBefore = diagnostics.errorCount();
    source.rejectUnknown(SOURCE);
    Map<String, List<Located<String>>> lists = new LinkedHashMap<>();
    for (String field : List.of("principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals",
        "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks",
        "serviceAccounts", "notServiceAccounts")) {
      lists.put(field, source.strings(field));
    }
    boolean empty = lists.values().stream().allMatch(l -> l == null || l.isEmpty());
    // After a field was refused (unknown, not a list of strings), "empty" would only repeat it.
    if (empty && diagnostics.errorCount() == errorsBefore) {
      diagnostics.error(source.mark(), source.path(), "source must not be empty");
    }
    int identityFields = size(lists.get("principals")) + size(lists.get("notPrincipals"))
        + size(lists.get("namespaces")) + size(lists.get("notNamespaces"));
    int serviceAccountFields = size(lists.get("serviceAccounts")) + size(lists.get("notServiceAccounts"));
    if (identityFields > 0 && serviceAccountFields > 0) {
      diagnostics.error(source.mark(), source.path(), "cannot set serviceAccounts with namespaces or principals");
    }
    for (Map.Entry<String, List<Located<String>>> field : lists.entrySet()) {
      String name = field.getKey();
      boolean ip = name.endsWith("pBlocks");
      boolean serviceAccounts = name.endsWith("erviceAccounts");
      if (serviceAccounts) {
        maxItems(diagnostics, source, name, field.getValue(), IstioChecks.MAX_SERVICE_ACCOUNTS);
      }
      ResourceReader.forEach(field.getValue(), value -> {
        String problem = serviceAccounts ? IstioChecks.checkServiceAccount(value.value())
            : value.value().isEmpty() ? "empty value not allowed"
            : ip ? IstioChecks.checkIpOrCidr(value.value())
            : null;
        if (problem != null) {
          diagnostics.error(value.mark(), value.path(), problem);
        }
      });
    }
    if (actionKnown && action == Action.CUSTOM) {
      for (String name : CUSTOM_UNSUPPORTED_SOURCE) {
        if (size(lists.get(name)) > 0) {
          diagnostics.error(source.keyMark(name), source.childPath(name), name + " is not supported with CUSTOM action");
        }
      }
    }
    return new Source(values(lists.get("principals")), values(lists.get("notPrincipals")),
        values(lists.get("requestPrincipals")), values(lists.get("notRequestPrincipals")),
        values(lists.get("namespaces")), values(lists.get("notNamespaces")), values(lists.get("ipBlocks")),
        values(lists.get("notIpBlocks")), values(lists.get("remoteIpBlocks")), values(lists.get("notRemoteIpBlocks")),
        values(lists.get("serviceAccounts")), values(lists.get("notServiceAccounts")));
  }

  private Operation operation(Fields operation) {
    int errorsBefore = diagnostics.errorCount();
    operation.rejectUnknown(OPERATION);
    Map<String, List<Located<String>>> lists = new LinkedHashMap<>();
    for (String field : List.of("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths",
        "notPaths")) {
      lists.put(field, operation.strings(field));
    }
    if (lists.values().stream().allMatch(l -> l == null || l.isEmpty()) && diagnostics.errorCount() == errorsBefore) {
      diagnostics.error(operation.mark(), operation.path(), "operation must not be empty");
    }
    for (Map.Entry<String, List<Located<String>>> field : lists.entrySet()) {
      boolean port = field.getKey().endsWith("orts");
      boolean path = field.getKey().endsWith("aths");
      ResourceReader.forEach(field.getValue(), value -> {
        String problem = value.value().isEmpty() ? "empty value not allowed"
            : port ? IstioChecks.checkPort(value.value())
            : path ? IstioChecks.checkPathTemplate(value.value())
            : null;
        if (problem != null) {
          diagnostics.error(value.mark(), value.path(), problem);
        }
      });
    }
    return new Operation(values(lists.get("hosts")), values(lists.get("notHosts")), values(lists.get("ports")),
        values(lists.get("notPorts")), values(lists.get("methods")), values(lists.get("notMethods")),
        values(lists.get("paths")), values(lists.get("notPaths")));
  }

  private Condition condition(Fields condition) {
    if (condition.present("cel")) {
      return celCondition(condition);
    }
    int errorsBefore = diagnostics.errorCount();
    condition.rejectUnknown(meshguard ? MESHGUARD_CONDITION : CONDITION);
    Located<String> key = condition.string("key");
    List<Located<String>> values = condition.strings("values");
    List<Located<String>> notValues = condition.strings("notValues");
    if (key == null || key.value().isEmpty()) {
      if (key != null || !condition.has("key")) {
        diagnostics.error(key == null ? condition.mark() : key.mark(), condition.childPath("key"),
            "key must not be empty");
      }
      return null;
    }
    if (size(values) == 0 && size(notValues) == 0) {
      if (diagnostics.errorCount() != errorsBefore) {
        return null;
      }
      diagnostics.error(condition.mark(), condition.path(),
          "at least one of values or notValues must be set for key " + Nodes.quote(key.value()));
      return null;
    }
    KeyCheck check = IstioChecks.checkKey(key.value());
    if (check.problem() != null) {
      diagnostics.error(key.mark(), key.path(), check.problem());
    }
    if (check.kind() == IstioChecks.ValueKind.SERVICE_ACCOUNT) {
      maxItems(diagnostics, condition, "values", values, IstioChecks.MAX_SERVICE_ACCOUNTS);
      maxItems(diagnostics, condition, "notValues", notValues, IstioChecks.MAX_SERVICE_ACCOUNTS);
    }
    for (List<Located<String>> list : List.of(nonNull(values), nonNull(notValues))) {
      for (Located<String> value : list) {
        String problem = switch (check.kind()) {
          case SERVICE_ACCOUNT -> IstioChecks.checkServiceAccount(value.value());
          case IP -> value.value().isEmpty() ? "empty value not allowed" : IstioChecks.checkIpOrCidr(value.value());
          case PORT -> value.value().isEmpty() ? "empty value not allowed" : IstioChecks.checkPort(value.value());
          case ANY -> value.value().isEmpty() ? "empty value not allowed" : null;
        };
        if (problem != null) {
          diagnostics.error(value.mark(), value.path(), problem);
        }
      }
    }
    if (actionKnown && action == Action.CUSTOM) {
      String k = key.value();
      if (k.equals("source.namespace") || k.equals("source.serviceAccount") || k.equals("source.principal")
          || k.startsWith("request.auth.")) {
        diagnostics.error(key.mark(), key.path(), Nodes.quote(k) + " is not supported with CUSTOM action");
      }
    }
    return Condition.of(key.value(), values(values), values(notValues));
  }

  private Condition celCondition(Fields condition) {
    Mark celMark = condition.keyMark("cel");
    String celPath = condition.childPath("cel");
    if (!meshguard) {
      condition.rejectUnknown(Set.of("key", "values", "notValues", "cel"));
      diagnostics.error(celMark, celPath, "cel conditions are only supported by meshguard.dev/v1 "
          + "AuthorizationPolicy, not " + apiVersion + "; change the apiVersion or use key with values");
      return null;
    }
    condition.rejectUnknown(MESHGUARD_CONDITION);
    if (condition.has("key") || condition.has("values") || condition.has("notValues")) {
      diagnostics.error(celMark, celPath, "a condition has either cel or key with values/notValues, not both");
    }
    Located<String> cel = condition.string("cel");
    if (cel == null) {
      if (!condition.has("cel")) {
        diagnostics.error(celMark, celPath, "cel must not be empty");
      }
      return null;
    }
    if (cel.value().isBlank()) {
      diagnostics.error(cel.mark(), cel.path(), "cel must not be empty");
      return null;
    }
    Mark at = cel.mark();
    return Condition.cel(cel.value(), new Position(at.source(), at.line(), at.column()));
  }

  /** The istio.io/dry-run annotation, checked as validation.go's checkDryRunAnnotation does. */
  private boolean dryRun(Meta meta) {
    if (meta == null) {
      return false;
    }
    Located<String> value = meta.annotations().get(ResourceReader.DRY_RUN_ANNOTATION);
    if (value == null || !actionKnown) {
      return false;
    }
    if (action != Action.ALLOW && action != Action.DENY) {
      diagnostics.error(value.mark(), value.path(), "the annotation " + ResourceReader.DRY_RUN_ANNOTATION
          + " currently only supports action ALLOW/DENY, found action " + action);
      return false;
    }
    Boolean parsed = IstioChecks.parseBool(value.value());
    if (parsed == null) {
      diagnostics.error(value.mark(), value.path(), "invalid value " + Nodes.quote(value.value())
          + ": must be a boolean as Go's strconv.ParseBool reads it (true, false, 1, 0, t, f, TRUE, FALSE, ...)");
      return false;
    }
    return parsed;
  }

  private static int size(List<?> list) {
    return list == null ? 0 : list.size();
  }
}

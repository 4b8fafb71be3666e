package dev.meshguard.policy;

import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code selector}, {@code targetRef} and {@code targetRefs}, shared by AuthorizationPolicy and
 * RequestAuthentication: validation.go's validateWorkloadSelector, validatePolicyTargetReference
 * and validateOneOfSelectorType, plus the CRD's schema for them (label value length, the
 * targetRef patterns, at most 16 targetRefs).
 */
final class Selectors {

  private static final Set<String> SELECTOR = Set.of("matchLabels");
  private static final Set<String> TARGET_REF = Set.of("group", "kind", "name", "namespace");

  /** validation.go's allowedTargetRefs, by canonical group ("core" for the empty group) and kind. */
  private static final Set<String> ALLOWED_TARGETS = Set.of("core/Service", "networking.istio.io/ServiceEntry",
      "gateway.networking.k8s.io/Gateway", "gateway.networking.k8s.io/GatewayClass");

  private Selectors() {}

  /** {@code spec.selector.matchLabels}; empty when absent or empty (with the webhook's warning). */
  static Map<String, String> selector(Diagnostics diagnostics, Fields spec) {
    Fields selector = spec.mapping("selector");
    if (selector == null) {
      return Map.of();
    }
    selector.rejectUnknown(SELECTOR);
    Map<String, Located<String>> labels = selector.stringMap("matchLabels");
    if (labels == null || labels.isEmpty()) {
      if (labels != null || !selector.has("matchLabels")) {
        diagnostics.warning(selector.mark(), selector.path(), "workload selector specified without labels");
      }
      return Map.of();
    }
    if (labels.size() > AuthorizationPolicyReader.MAX_LABELS) {
      diagnostics.error(selector.keyMark("matchLabels"), selector.childPath("matchLabels"),
          "must have at most " + AuthorizationPolicyReader.MAX_LABELS + " labels, found " + labels.size());
    }
    Map<String, String> values = new LinkedHashMap<>();
    labels.forEach((key, value) -> {
      String label = Nodes.quote(key + "=" + value.value());
      if (key.isEmpty()) {
        diagnostics.error(value.mark(), value.path(), "empty key is not supported in selector: " + label);
      }
      if (key.contains("*") || value.value().contains("*")) {
        diagnostics.error(value.mark(), value.path(), "wildcard is not supported in selector: " + label);
      }
      if (value.value().length() > AuthorizationPolicyReader.MAX_LABEL_VALUE_LENGTH) {
        diagnostics.error(value.mark(), value.path(), "label value must be no more than "
            + AuthorizationPolicyReader.MAX_LABEL_VALUE_LENGTH + " characters, found " + value.value().length());
      }
      values.put(key, value.value());
    });
    return values;
  }

  /** {@code spec.targetRef} and {@code spec.targetRefs}, together. */
  static List<TargetRef> targetRefs(Diagnostics diagnostics, Fields spec, int max) {
    List<TargetRef> refs = new ArrayList<>();
    Fields single = spec.mapping("targetRef");
    if (single != null) {
      refs.add(targetRef(diagnostics, single));
    }
    List<YamlNode> list = spec.list("targetRefs");
    ResourceReader.maxItems(diagnostics, spec, "targetRefs", list, max);
    if (list != null) {
      ResourceReader.each(list, spec.childPath("targetRefs"), (i, node, path) -> {
        if (node instanceof Null) {
          diagnostics.error(node.mark(), path, "targetRef must not be null");
          return;
        }
        Fields ref = Fields.of(diagnostics, node, path);
        if (ref != null) {
          refs.add(targetRef(diagnostics, ref));
        }
      });
    }
    return refs;
  }

  private static TargetRef targetRef(Diagnostics diagnostics, Fields ref) {
    ref.rejectUnknown(TARGET_REF);
    Located<String> group = ref.string("group");
    Located<String> kind = ref.string("kind");
    Located<String> name = ref.string("name");
    Located<String> namespace = ref.string("namespace");
    if (name == null || name.value().isEmpty()) {
      if (name != null || !ref.has("name")) {
        diagnostics.error(name == null ? ref.mark() : name.mark(), ref.childPath("name"), "targetRef name must be set");
      }
    } else if (name.value().length() > 253) {
      diagnostics.error(name.mark(), name.path(), "must be no more than 253 characters");
    }
    if (kind == null || kind.value().isEmpty()) {
      if (kind != null || !ref.has("kind")) {
        diagnostics.error(kind == null ? ref.mark() : kind.mark(), ref.childPath("kind"), "targetRef kind must be set");
      }
    } else if (!IstioChecks.isTargetRefKind(kind.value())) {
      diagnostics.error(kind.mark(), kind.path(), "invalid kind " + Nodes.quote(kind.value())
          + ": must match ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$ and be at most 63 characters");
    }
    if (group != null && !IstioChecks.isTargetRefGroup(group.value())) {
      diagnostics.error(group.mark(), group.path(), "invalid group " + Nodes.quote(group.value())
          + ": must be empty or a lowercase RFC 1123 subdomain");
    }
    if (namespace != null && !namespace.value().isEmpty()) {
      diagnostics.error(namespace.mark(), namespace.path(),
          "targetRef namespace must not be set; cross namespace referencing is not supported");
    }
    String g = group == null ? "" : group.value();
    String k = kind == null ? "" : kind.value();
    if (!k.isEmpty() && !ALLOWED_TARGETS.contains((g.isEmpty() ? "core" : g) + "/" + k)) {
      diagnostics.error(ref.mark(), ref.path(), "targetRef must be to one of core/Service, "
          + "networking.istio.io/ServiceEntry, gateway.networking.k8s.io/Gateway, "
          + "gateway.networking.k8s.io/GatewayClass, found " + Nodes.quote(g + "/" + k));
    }
    return new TargetRef(g, k, name == null ? "" : name.value(), namespace == null ? "" : namespace.value());
  }

  /** At most one of selector, targetRef, targetRefs: reported at the second one written. */
  static void checkOneOf(Diagnostics diagnostics, Fields spec) {
    List<String> set = new ArrayList<>();
    for (String key : List.of("selector", "targetRef", "targetRefs")) {
      if (spec.has(key)) {
        set.add(key);
      }
    }
    if (set.size() > 1) {
      set.sort(Comparator.comparingInt((String key) -> spec.keyMark(key).line())
          .thenComparingInt(key -> spec.keyMark(key).column()));
      String second = set.get(1);
      diagnostics.error(spec.keyMark(second), spec.childPath(second),
          "only one of selector, targetRef or targetRefs can be set, found " + String.join(" and ", set));
    }
  }
}

package dev.meshguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes the model back as the Kubernetes resources a user would apply: the normalised form that
 * bundles carry and {@code meshguard policy compile --emit program} prints. Normalised means: one
 * resource per policy, fields in the API's order, map keys sorted, {@code targetRef} folded into
 * {@code targetRefs}, unset fields and empty lists left out (the model cannot tell them apart, and
 * neither can Istio). {@link PolicyLoader} reads the result back into an equal model, so a bundle's
 * policies have the revision of the set they were made from (a test says so).
 */
public final class PolicyResources {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private PolicyResources() {}

  /** The policy as a Kubernetes resource ({@code apiVersion}, {@code kind}, {@code metadata}, {@code spec}). */
  public static ObjectNode resource(AuthorizationPolicy p) {
    ObjectNode resource = envelope(p.apiVersion(), "AuthorizationPolicy", p.namespace(), p.name(), p.annotations());
    ObjectNode spec = resource.putObject("spec");
    selector(spec, p.selector());
    targetRefs(spec, p.targetRefs());
    spec.put("action", p.action().name());
    if (p.provider() != null) {
      spec.putObject("provider").put("name", p.provider());
    }
    if (!p.rules().isEmpty()) {
      ArrayNode rules = spec.putArray("rules");
      for (Rule rule : p.rules()) {
        rules.add(rule(rule));
      }
    }
    return resource;
  }

  /** The RequestAuthentication as a Kubernetes resource. */
  public static ObjectNode resource(RequestAuthentication r) {
    ObjectNode resource = envelope(r.apiVersion(), "RequestAuthentication", r.namespace(), r.name(), Map.of());
    ObjectNode spec = resource.putObject("spec");
    selector(spec, r.selector());
    targetRefs(spec, r.targetRefs());
    if (!r.jwtRules().isEmpty()) {
      ArrayNode rules = spec.putArray("jwtRules");
      for (JwtRule j : r.jwtRules()) {
        rules.add(jwtRule(j));
      }
    }
    return resource;
  }

  private static ObjectNode envelope(String apiVersion, String kind, String namespace, String name,
      Map<String, String> annotations) {
    ObjectNode resource = NODES.objectNode();
    resource.put("apiVersion", apiVersion);
    resource.put("kind", kind);
    ObjectNode metadata = resource.putObject("metadata");
    metadata.put("name", name);
    metadata.put("namespace", namespace);
    if (!annotations.isEmpty()) {
      metadata.set("annotations", sortedMap(annotations));
    }
    return resource;
  }

  private static void selector(ObjectNode spec, Map<String, String> selector) {
    if (!selector.isEmpty()) {
      spec.putObject("selector").set("matchLabels", sortedMap(selector));
    }
  }

  private static void targetRefs(ObjectNode spec, List<TargetRef> refs) {
    if (refs.isEmpty()) {
      return;
    }
    ArrayNode out = spec.putArray("targetRefs");
    for (TargetRef ref : refs) {
      ObjectNode node = out.addObject();
      if (!ref.group().isEmpty()) {
        node.put("group", ref.group());
      }
      node.put("kind", ref.kind());
      node.put("name", ref.name());
      if (!ref.namespace().isEmpty()) {
        node.put("namespace", ref.namespace());
      }
    }
  }

  private static ObjectNode rule(Rule rule) {
    ObjectNode node = NODES.objectNode();
    if (!rule.from().isEmpty()) {
      ArrayNode from = node.putArray("from");
      for (Source s : rule.from()) {
        ObjectNode source = from.addObject().putObject("source");
        strings(source, "principals", s.principals());
        strings(source, "notPrincipals", s.notPrincipals());
        strings(source, "requestPrincipals", s.requestPrincipals());
        strings(source, "notRequestPrincipals", s.notRequestPrincipals());
        strings(source, "namespaces", s.namespaces());
        strings(source, "notNamespaces", s.notNamespaces());
        strings(source, "ipBlocks", s.ipBlocks());
        strings(source, "notIpBlocks", s.notIpBlocks());
        strings(source, "remoteIpBlocks", s.remoteIpBlocks());
        strings(source, "notRemoteIpBlocks", s.notRemoteIpBlocks());
        strings(source, "serviceAccounts", s.serviceAccounts());
        strings(source, "notServiceAccounts", s.notServiceAccounts());
      }
    }
    if (!rule.to().isEmpty()) {
      ArrayNode to = node.putArray("to");
      for (Operation o : rule.to()) {
        ObjectNode operation = to.addObject().putObject("operation");
        strings(operation, "hosts", o.hosts());
        strings(operation, "notHosts", o.notHosts());
        strings(operation, "ports", o.ports());
        strings(operation, "notPorts", o.notPorts());
        strings(operation, "methods", o.methods());
        strings(operation, "notMethods", o.notMethods());
        strings(operation, "paths", o.paths());
        strings(operation, "notPaths", o.notPaths());
      }
    }
    if (!rule.when().isEmpty()) {
      ArrayNode when = node.putArray("when");
      for (Condition c : rule.when()) {
        ObjectNode condition = when.addObject();
        if (c.cel() != null) {
          condition.put("cel", c.cel());
          continue;
        }
        condition.put("key", c.key());
        strings(condition, "values", c.values());
        strings(condition, "notValues", c.notValues());
      }
    }
    return node;
  }

  private static ObjectNode jwtRule(JwtRule j) {
    ObjectNode node = NODES.objectNode();
    if (!j.issuer().isEmpty()) {
      node.put("issuer", j.issuer());
    }
    strings(node, "audiences", j.audiences());
    if (j.jwksUri() != null) {
      node.put("jwksUri", j.jwksUri());
    }
    if (j.jwks() != null) {
      node.put("jwks", j.jwks());
    }
    if (!j.fromHeaders().isEmpty()) {
      ArrayNode headers = node.putArray("fromHeaders");
      for (JwtRule.JwtHeader h : j.fromHeaders()) {
        ObjectNode header = headers.addObject().put("name", h.name());
        if (!h.prefix().isEmpty()) {
          header.put("prefix", h.prefix());
        }
      }
    }
    strings(node, "fromParams", j.fromParams());
    strings(node, "fromCookies", j.fromCookies());
    if (j.outputPayloadToHeader() != null) {
      node.put("outputPayloadToHeader", j.outputPayloadToHeader());
    }
    if (!j.outputClaimToHeaders().isEmpty()) {
      ArrayNode claims = node.putArray("outputClaimToHeaders");
      for (JwtRule.ClaimToHeader c : j.outputClaimToHeaders()) {
        claims.addObject().put("header", c.header()).put("claim", c.claim());
      }
    }
    if (j.forwardOriginalToken()) {
      node.put("forwardOriginalToken", true);
    }
    if (j.timeout() != null) {
      node.put("timeout", j.timeout());
    }
    strings(node, "spaceDelimitedClaims", j.spaceDelimitedClaims());
    return node;
  }

  private static void strings(ObjectNode node, String field, List<String> values) {
    if (!values.isEmpty()) {
      ArrayNode array = node.putArray(field);
      values.forEach(array::add);
    }
  }

  private static JsonNode sortedMap(Map<String, String> map) {
    ObjectNode node = NODES.objectNode();
    new TreeMap<>(map).forEach(node::put);
    return node;
  }
}

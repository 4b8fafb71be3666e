package dev.meshguard.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.YamlDocuments;
import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.Outcome;
import dev.meshguard.policy.model.Action;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Policy unit tests, the way {@code opa test} runs Rego tests: YAML files named {@code *_test.yaml}
 * beside the policies, each a list of requests with the decision expected for them.
 *
 * <pre>
 * apiVersion: meshguard.dev/v1
 * kind: PolicyTest                # so that loading the directory as policies skips this file
 * metadata: {name: shop}
 * policies: [., ../mesh]          # relative to this file; default: this file's directory
 * mesh_config: ../mesh.yaml       # optional; default: --mesh-config, else Istio's defaults
 * cases:
 * - name: the frontend may read the catalogue
 *   request:                      # the compact form (below), or check_request: a CheckRequest
 *     namespace: shop
 *     labels: {app: catalogue}
 *     principal: spiffe://cluster.local/ns/shop/sa/frontend
 *     method: GET
 *     path: /items/42
 *   provider_decisions: {opa: DENY}   # optional: what CUSTOM providers decide (default ALLOW)
 *   expect:
 *     decision: ALLOW             # required
 *     policy: shop/catalogue-readers  # optional from here on: only what is given is checked
 *     action: ALLOW
 *     rule: 0
 *     audit: []
 *     dry_run: [{policy: shop/new-rule, decision: DENY}]
 *     custom: []
 *     reason_contains: "allowed by"
 * </pre>
 *
 * The compact request is turned into the {@code CheckRequest} Envoy would send, so it goes through
 * the same {@link CheckRequestAttributes} as {@code check}: {@code namespace} and {@code labels}
 * become the context extensions; {@code principal}, {@code source_ip}, {@code source_port} the
 * source peer; {@code destination_ip}, {@code destination_port}, {@code destination_principal} the
 * destination; {@code sni} the TLS session; {@code method}, {@code host}, {@code path} and
 * {@code headers} (names lower-cased) the HTTP request — present when any of them is given
 * ({@code method} defaults to GET and {@code path} to {@code /}), absent for a TCP connection
 * check; {@code jwt} the verified JWT payload (claims) in jwt_authn's dynamic metadata.
 */
final class PolicyTests {

  static final String API_VERSION = "meshguard.dev/v1";
  static final String KIND = "PolicyTest";

  private static final Set<String> ROOT = Set.of("apiVersion", "kind", "metadata", "policies", "mesh_config", "cases");
  private static final Set<String> CASE = Set.of("name", "request", "check_request", "provider_decisions", "expect");
  private static final Set<String> EXPECT = Set.of("decision", "policy", "action", "rule", "audit", "dry_run",
      "custom", "reason_contains");
  private static final Set<String> REQUEST = Set.of("namespace", "labels", "principal", "source_ip", "source_port",
      "destination_ip", "destination_port", "destination_principal", "sni", "method", "host", "path", "headers",
      "jwt");
  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private PolicyTests() {}

  /** A parsed test file. */
  record TestFile(Path file, List<Path> policies, Path meshConfig, List<Case> cases) {}

  /**
   * One case.
   *
   * @param request the CheckRequest in protobuf JSON form, as {@code check} reads it
   * @param providerDecisions what CUSTOM providers decide
   */
  record Case(String name, Mark mark, String request, Map<String, Outcome> providerDecisions, Expect expect) {}

  /**
   * What a case expects; null members are not checked. {@code policy}, {@code action} and
   * {@code rule} distinguish "not given" (not checked) from an explicit {@code null} (must be null).
   */
  record Expect(Outcome decision, Expected<String> policy, Expected<Action> action, Expected<Integer> rule,
      List<String> audit, Map<String, Outcome> dryRun, List<String> custom, String reasonContains) {}

  /** A value to compare against, which may itself be null (an explicit YAML {@code null}). */
  record Expected<T>(T value) {}

  /**
   * Reads a test file.
   *
   * @throws ConfigException with every mistake in it, each with its position and path
   */
  static TestFile parse(Path file, String text) throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    List<YamlNode> docs = YamlDocuments.readYaml(text, file.toString(), errors);
    if (docs.size() != 1 || !(docs.get(0) instanceof Mapping root)) {
      throw new ConfigException(new ConfigError(file.toString(), 1, 1, "",
          "a policy test file holds one mapping (apiVersion: " + API_VERSION + ", kind: " + KIND + ")"));
    }
    Reader r = new Reader(errors);
    r.keys(root, "", ROOT);
    String apiVersion = r.string(root, "apiVersion", "", true);
    String kind = r.string(root, "kind", "", true);
    if (apiVersion != null && !apiVersion.equals(API_VERSION)) {
      r.error(get(root, "apiVersion"), "apiVersion", "must be " + API_VERSION);
    }
    if (kind != null && !kind.equals(KIND)) {
      r.error(get(root, "kind"), "kind", "must be " + KIND);
    }
    Path dir = file.toAbsolutePath().getParent();
    List<Path> policies = new ArrayList<>();
    YamlNode policiesNode = get(root, "policies");
    if (policiesNode == null) {
      policies.add(relative(file, "."));
    } else {
      List<String> listed = r.strings(policiesNode, "policies");
      if (listed != null && listed.isEmpty()) {
        r.error(policiesNode, "policies", "must name at least one file or directory");
      }
      if (listed != null) {
        listed.forEach(p -> policies.add(relative(file, p)));
      }
    }
    String mesh = r.string(root, "mesh_config", "", false);
    Path meshConfig = mesh == null ? null : relative(file, mesh);

    List<Case> cases = new ArrayList<>();
    YamlNode casesNode = get(root, "cases");
    if (casesNode == null) {
      r.error(root, "cases", "missing: a test file needs at least one case");
    } else if (!(casesNode instanceof Sequence seq) || seq.items().isEmpty()) {
      r.error(casesNode, "cases", "must be a non-empty list of cases");
    } else {
      for (int i = 0; i < seq.items().size(); i++) {
        Case c = testCase(r, seq.items().get(i), "cases[" + i + "]");
        if (c != null) {
          cases.add(c);
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return new TestFile(file, policies, meshConfig, cases);
  }

  /** A path in a test file, relative to the file's directory; shown as the user would write it. */
  private static Path relative(Path file, String path) {
    Path parent = file.getParent();
    Path resolved = parent == null ? Path.of(path) : parent.resolve(path);
    return resolved.normalize().toString().isEmpty() ? Path.of(".") : resolved.normalize();
  }

  private static Case testCase(Reader r, YamlNode node, String path) {
    if (!(node instanceof Mapping m)) {
      r.error(node, path, "a case must be a mapping with name, request (or check_request) and expect");
      return null;
    }
    int before = r.errors.size();
    r.keys(m, path, CASE);
    String name = r.string(m, "name", path, true);
    YamlNode compact = get(m, "request");
    YamlNode full = get(m, "check_request");
    String request = null;
    if ((compact == null) == (full == null)) {
      r.error(m, path, "give exactly one of request (the compact form) and check_request (a CheckRequest)");
    } else if (full != null) {
      if (!(full instanceof Mapping)) {
        r.error(full, path + ".check_request", "must be a CheckRequest in its protobuf JSON form (a mapping)");
      } else {
        request = write(json(full));
        try {
          PolicyRequests.parse(request);
        } catch (PolicyRequests.BadRequest e) {
          r.error(full, path + ".check_request", e.getMessage());
        }
      }
    } else {
      CheckRequest built = compactRequest(r, compact, path + ".request");
      if (built != null) {
        try {
          request = JsonFormat.printer().print(built);
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("a CheckRequest without Any fields always prints", e);
        }
      }
    }
    Map<String, Outcome> providers = new TreeMap<>();
    YamlNode providerNode = get(m, "provider_decisions");
    if (providerNode != null) {
      if (!(providerNode instanceof Mapping pm)) {
        r.error(providerNode, path + ".provider_decisions", "must map provider names to ALLOW or DENY");
      } else {
        for (YamlNode.Entry e : pm.entries()) {
          Outcome o = r.outcome(e.value(), path + ".provider_decisions." + e.key());
          if (o != null) {
            providers.put(e.key(), o);
          }
        }
      }
    }
    Expect expect = null;
    YamlNode expectNode = get(m, "expect");
    if (expectNode == null) {
      r.error(m, path + ".expect", "missing: what the case expects (at least decision)");
    } else {
      expect = expect(r, expectNode, path + ".expect");
    }
    if (r.errors.size() != before) {
      return null;
    }
    return new Case(name, m.mark(), request, providers, expect);
  }

  private static Expect expect(Reader r, YamlNode node, String path) {
    if (!(node instanceof Mapping m)) {
      r.error(node, path, "must be a mapping (decision, policy, action, rule, audit, dry_run, custom, reason_contains)");
      return null;
    }
    r.keys(m, path, EXPECT);
    YamlNode decisionNode = get(m, "decision");
    Outcome decision = null;
    if (decisionNode == null) {
      r.error(m, path + ".decision", "missing: ALLOW or DENY");
    } else {
      decision = r.outcome(decisionNode, path + ".decision");
    }
    Expected<String> policy = null;
    if (get(m, "policy") != null) {
      policy = new Expected<>(get(m, "policy") instanceof Null ? null : r.string(m, "policy", path, true));
    }
    Expected<Action> action = null;
    YamlNode actionNode = get(m, "action");
    if (actionNode != null) {
      if (actionNode instanceof Null) {
        action = new Expected<>(null);
      } else {
        String text = r.string(m, "action", path, true);
        try {
          action = text == null ? null : new Expected<>(Action.valueOf(text.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          r.error(actionNode, path + ".action", "must be ALLOW, DENY, CUSTOM or null");
        }
      }
    }
    Expected<Integer> rule = null;
    YamlNode ruleNode = get(m, "rule");
    if (ruleNode != null) {
      if (ruleNode instanceof Null) {
        rule = new Expected<>(null);
      } else if (ruleNode instanceof Scalar s && s.type() == Scalar.Type.INTEGER) {
        rule = new Expected<>(Integer.parseInt(s.text()));
      } else {
        r.error(ruleNode, path + ".rule", "must be a rule index (0, 1, ...) or null");
      }
    }
    List<String> audit = get(m, "audit") == null ? null : r.strings(get(m, "audit"), path + ".audit");
    List<String> custom = get(m, "custom") == null ? null : r.strings(get(m, "custom"), path + ".custom");
    Map<String, Outcome> dryRun = null;
    YamlNode dryRunNode = get(m, "dry_run");
    if (dryRunNode != null) {
      dryRun = new LinkedHashMap<>();
      if (!(dryRunNode instanceof Sequence seq)) {
        r.error(dryRunNode, path + ".dry_run", "must be a list of {policy: ns/name, decision: ALLOW|DENY}");
      } else {
        for (int i = 0; i < seq.items().size(); i++) {
          String at = path + ".dry_run[" + i + "]";
          if (!(seq.items().get(i) instanceof Mapping d)) {
            r.error(seq.items().get(i), at, "must be {policy: ns/name, decision: ALLOW|DENY}");
            continue;
          }
          r.keys(d, at, Set.of("policy", "decision"));
          String p = r.string(d, "policy", at, true);
          Outcome o = get(d, "decision") == null ? null : r.outcome(get(d, "decision"), at + ".decision");
          if (get(d, "decision") == null) {
            r.error(d, at + ".decision", "missing: ALLOW or DENY");
          }
          if (p != null && o != null) {
            dryRun.put(p, o);
          }
        }
      }
    }
    String reason = r.string(m, "reason_contains", path, false);
    return new Expect(decision, policy, action, rule, audit, dryRun, custom, reason);
  }

  /** The CheckRequest Envoy would send for the compact form (see the class comment). */
  private static CheckRequest compactRequest(Reader r, YamlNode node, String path) {
    if (!(node instanceof Mapping m)) {
      r.error(node, path, "must be a mapping (namespace, labels, principal, method, path, ...)");
      return null;
    }
    r.keys(m, path, REQUEST);
    AttributeContext.Builder a = AttributeContext.newBuilder();
    String namespace = r.string(m, "namespace", path, false);
    if (namespace != null) {
      a.putContextExtensions("namespace", namespace);
    }
    YamlNode labelsNode = get(m, "labels");
    if (labelsNode != null) {
      Map<String, String> labels = r.stringMap(labelsNode, path + ".labels");
      if (labels != null) {
        a.putContextExtensions("labels", labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(",")));
      }
    }
    AttributeContext.Peer.Builder source = a.getSourceBuilder();
    String principal = r.string(m, "principal", path, false);
    if (principal != null) {
      source.setPrincipal(principal);
    }
    address(r, m, path, "source_ip", "source_port", source);
    AttributeContext.Peer.Builder destination = a.getDestinationBuilder();
    String destinationPrincipal = r.string(m, "destination_principal", path, false);
    if (destinationPrincipal != null) {
      destination.setPrincipal(destinationPrincipal);
    }
    address(r, m, path, "destination_ip", "destination_port", destination);
    String sni = r.string(m, "sni", path, false);
    if (sni != null) {
      a.getTlsSessionBuilder().setSni(sni);
    }
    boolean http = get(m, "method") != null || get(m, "host") != null || get(m, "path") != null
        || get(m, "headers") != null;
    if (http) {
      AttributeContext.HttpRequest.Builder h = a.getRequestBuilder().getHttpBuilder();
      String method = r.string(m, "method", path, false);
      String host = r.string(m, "host", path, false);
      String requestPath = r.string(m, "path", path, false);
      h.setMethod(method == null ? "GET" : method);
      h.setPath(requestPath == null ? "/" : requestPath);
      if (host != null) {
        h.setHost(host);
      }
      YamlNode headersNode = get(m, "headers");
      if (headersNode != null) {
        Map<String, String> headers = r.stringMap(headersNode, path + ".headers");
        if (headers != null) {
          headers.forEach((k, v) -> h.putHeaders(k.toLowerCase(Locale.ROOT), v));
        }
      }
    }
    YamlNode jwtNode = get(m, "jwt");
    if (jwtNode != null) {
      if (!(jwtNode instanceof Mapping)) {
        r.error(jwtNode, path + ".jwt", "must be the JWT's claims, a mapping");
      } else {
        Struct.Builder payload = Struct.newBuilder();
        try {
          JsonFormat.parser().merge(write(json(jwtNode)), payload);
        } catch (InvalidProtocolBufferException e) {
          r.error(jwtNode, path + ".jwt", "cannot be JWT claims: " + e.getMessage());
        }
        Struct jwtAuthn = Struct.newBuilder()
            .putFields("payload", Value.newBuilder().setStructValue(payload).build()).build();
        a.setMetadataContext(Metadata.newBuilder().putFilterMetadata(CheckRequestAttributes.JWT_AUTHN_FILTER, jwtAuthn));
      }
    }
    return CheckRequest.newBuilder().setAttributes(a).build();
  }

  private static void address(Reader r, Mapping m, String path, String ipKey, String portKey,
      AttributeContext.Peer.Builder peer) {
    String ip = r.string(m, ipKey, path, false);
    YamlNode portNode = get(m, portKey);
    if (ip == null && portNode == null) {
      return;
    }
    SocketAddress.Builder socket = SocketAddress.newBuilder().setAddress(ip == null ? "" : ip);
    if (portNode != null) {
      if (portNode instanceof Scalar s && s.type() == Scalar.Type.INTEGER && s.text().matches("\\d{1,5}")
          && Integer.parseInt(s.text()) <= 65535) {
        socket.setPortValue(Integer.parseInt(s.text()));
      } else {
        r.error(portNode, path + "." + portKey, "must be a port number, 0 to 65535");
      }
    }
    peer.setAddress(Address.newBuilder().setSocketAddress(socket));
  }

  // ---------------------------------------------------------------------------------------------
  // YAML helpers

  static YamlNode get(Mapping m, String key) {
    for (YamlNode.Entry e : m.entries()) {
      if (e.key().equals(key)) {
        return e.value();
      }
    }
    return null;
  }

  /** The YAML node as JSON: scalars as the parser resolved them (8080 a number, "8080" a string). */
  static JsonNode json(YamlNode node) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    return switch (node) {
      case Mapping m -> {
        ObjectNode o = f.objectNode();
        m.entries().forEach(e -> o.set(e.key(), json(e.value())));
        yield o;
      }
      case Sequence s -> {
        ArrayNode a = f.arrayNode();
        s.items().forEach(i -> a.add(json(i)));
        yield a;
      }
      case Scalar s -> switch (s.type()) {
        case STRING -> f.textNode(s.text());
        case INTEGER -> integer(s.text());
        case FLOAT -> f.numberNode(Double.parseDouble(s.text()));
        case BOOLEAN -> f.booleanNode(List.of("true", "yes", "on", "y").contains(s.text().toLowerCase(Locale.ROOT)));
      };
      case Null n -> f.nullNode();
      case YamlNode.Alias a -> f.textNode("*" + a.anchor());
    };
  }

  private static JsonNode integer(String text) {
    try {
      return JsonNodeFactory.instance.numberNode(new java.math.BigInteger(text.replace("_", "")));
    } catch (NumberFormatException e) {
      return JsonNodeFactory.instance.textNode(text); // 0x1F, 0o17: YAML 1.1 forms; kept as written
    }
  }

  static String write(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serialises", e);
    }
  }

  /** Reads typed values out of mappings, adding an error for each wrong one. */
  private static final class Reader {
    final List<ConfigError> errors;

    Reader(List<ConfigError> errors) {
      this.errors = errors;
    }

    void error(YamlNode node, String path, String message) {
      errors.add(node.mark().error(path, message));
    }

    void keys(Mapping m, String path, Set<String> allowed) {
      for (YamlNode.Entry e : m.entries()) {
        if (!allowed.contains(e.key())) {
          errors.add(e.keyMark().error(join(path, e.key()), "unknown field; expected one of "
              + allowed.stream().sorted().collect(Collectors.joining(", "))));
        }
      }
    }

    String string(Mapping m, String key, String path, boolean required) {
      YamlNode node = get(m, key);
      if (node == null) {
        if (required) {
          error(m, join(path, key), "missing");
        }
        return null;
      }
      if (node instanceof Scalar s) {
        return s.text();
      }
      error(node, join(path, key), "must be a string");
      return null;
    }

    List<String> strings(YamlNode node, String path) {
      if (!(node instanceof Sequence seq)) {
        error(node, path, "must be a list of strings");
        return null;
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < seq.items().size(); i++) {
        if (seq.items().get(i) instanceof Scalar s) {
          out.add(s.text());
        } else {
          error(seq.items().get(i), path + "[" + i + "]", "must be a string");
        }
      }
      return out;
    }

    Map<String, String> stringMap(YamlNode node, String path) {
      if (!(node instanceof Mapping m)) {
        error(node, path, "must be a mapping of strings");
        return null;
      }
      Map<String, String> out = new TreeMap<>();
      for (YamlNode.Entry e : m.entries()) {
        if (e.value() instanceof Scalar s) {
          out.put(e.key(), s.text());
        } else {
          error(e.value(), join(path, e.key()), "must be a string");
        }
      }
      return out;
    }

    Outcome outcome(YamlNode node, String path) {
      if (node instanceof Scalar s) {
        try {
          return PolicyRequests.outcome(s.text());
        } catch (IllegalArgumentException e) {
          error(node, path, "must be ALLOW or DENY");
          return null;
        }
      }
      error(node, path, "must be ALLOW or DENY");
      return null;
    }

    private static String join(String path, String key) {
      return path.isEmpty() ? key : path + "." + key;
    }
  }
}

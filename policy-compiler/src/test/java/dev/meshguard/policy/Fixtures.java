package dev.meshguard.policy;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builders for model records and requests, so tests read like the YAML they stand for. */
final class Fixtures {

  private Fixtures() {}

  static PolicyBuilder allow(String ns, String name) {
    return new PolicyBuilder(ns, name, Action.ALLOW);
  }

  static PolicyBuilder deny(String ns, String name) {
    return new PolicyBuilder(ns, name, Action.DENY);
  }

  static PolicyBuilder audit(String ns, String name) {
    return new PolicyBuilder(ns, name, Action.AUDIT);
  }

  static PolicyBuilder custom(String ns, String name, String provider) {
    PolicyBuilder b = new PolicyBuilder(ns, name, Action.CUSTOM);
    b.provider = provider;
    return b;
  }

  static final class PolicyBuilder {
    final String ns;
    final String name;
    final Action action;
    String apiVersion = AuthorizationPolicy.ISTIO_V1;
    String provider;
    boolean dryRun;
    final Map<String, String> selector = new LinkedHashMap<>();
    final List<TargetRef> targetRefs = new ArrayList<>();
    final List<Rule> rules = new ArrayList<>();

    PolicyBuilder(String ns, String name, Action action) {
      this.ns = ns;
      this.name = name;
      this.action = action;
    }

    PolicyBuilder selector(String k, String v) {
      selector.put(k, v);
      return this;
    }

    PolicyBuilder selector(Map<String, String> labels) {
      selector.putAll(labels);
      return this;
    }

    PolicyBuilder targetGateway(String gatewayName) {
      targetRefs.add(new TargetRef("gateway.networking.k8s.io", "Gateway", gatewayName, ""));
      return this;
    }

    PolicyBuilder targetRef(TargetRef ref) {
      targetRefs.add(ref);
      return this;
    }

    PolicyBuilder dryRun() {
      dryRun = true;
      return this;
    }

    PolicyBuilder meshguard() {
      apiVersion = AuthorizationPolicy.MESHGUARD_V1;
      return this;
    }

    PolicyBuilder rule(RuleBuilder r) {
      rules.add(r.build());
      return this;
    }

    /** {@code rules: [{}]}. */
    PolicyBuilder anyRequest() {
      return rule(new RuleBuilder());
    }

    AuthorizationPolicy build() {
      Map<String, String> annotations = dryRun ? Map.of("istio.io/dry-run", "true") : Map.of();
      return new AuthorizationPolicy(apiVersion, ns, name, annotations, dryRun, selector, targetRefs, action, provider,
          rules, new Position(ns + "-" + name + ".yaml", 1, 1));
    }
  }

  static RuleBuilder rule() {
    return new RuleBuilder();
  }

  static final class RuleBuilder {
    final List<Source> from = new ArrayList<>();
    final List<Operation> to = new ArrayList<>();
    final List<Condition> when = new ArrayList<>();
    int line = 5;

    RuleBuilder from(SourceBuilder s) {
      from.add(s.build());
      return this;
    }

    RuleBuilder to(OperationBuilder o) {
      to.add(o.build());
      return this;
    }

    RuleBuilder when(String key, List<String> values, List<String> notValues) {
      when.add(Condition.of(key, values, notValues));
      return this;
    }

    RuleBuilder when(String key, String... values) {
      return when(key, List.of(values), List.of());
    }

    RuleBuilder whenNot(String key, String... notValues) {
      return when(key, List.of(), List.of(notValues));
    }

    RuleBuilder cel(String expression, int line, int column) {
      when.add(Condition.cel(expression, new Position("policy.yaml", line, column)));
      return this;
    }

    Rule build() {
      return new Rule(from, to, when, new Position("policy.yaml", line, 3));
    }
  }

  static SourceBuilder source() {
    return new SourceBuilder();
  }

  static final class SourceBuilder {
    List<String> principals = List.of();
    List<String> notPrincipals = List.of();
    List<String> requestPrincipals = List.of();
    List<String> notRequestPrincipals = List.of();
    List<String> namespaces = List.of();
    List<String> notNamespaces = List.of();
    List<String> ipBlocks = List.of();
    List<String> notIpBlocks = List.of();
    List<String> remoteIpBlocks = List.of();
    List<String> notRemoteIpBlocks = List.of();
    List<String> serviceAccounts = List.of();
    List<String> notServiceAccounts = List.of();

    SourceBuilder principals(String... v) {
      principals = List.of(v);
      return this;
    }

    SourceBuilder notPrincipals(String... v) {
      notPrincipals = List.of(v);
      return this;
    }

    SourceBuilder requestPrincipals(String... v) {
      requestPrincipals = List.of(v);
      return this;
    }

    SourceBuilder notRequestPrincipals(String... v) {
      notRequestPrincipals = List.of(v);
      return this;
    }

    SourceBuilder namespaces(String... v) {
      namespaces = List.of(v);
      return this;
    }

    SourceBuilder notNamespaces(String... v) {
      notNamespaces = List.of(v);
      return this;
    }

    SourceBuilder ipBlocks(String... v) {
      ipBlocks = List.of(v);
      return this;
    }

    SourceBuilder notIpBlocks(String... v) {
      notIpBlocks = List.of(v);
      return this;
    }

    SourceBuilder remoteIpBlocks(String... v) {
      remoteIpBlocks = List.of(v);
      return this;
    }

    SourceBuilder notRemoteIpBlocks(String... v) {
      notRemoteIpBlocks = List.of(v);
      return this;
    }

    SourceBuilder serviceAccounts(String... v) {
      serviceAccounts = List.of(v);
      return this;
    }

    SourceBuilder notServiceAccounts(String... v) {
      notServiceAccounts = List.of(v);
      return this;
    }

    Source build() {
      return new Source(principals, notPrincipals, requestPrincipals, notRequestPrincipals, namespaces, notNamespaces,
          ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks, serviceAccounts, notServiceAccounts);
    }
  }

  static OperationBuilder op() {
    return new OperationBuilder();
  }

  static final class OperationBuilder {
    List<String> hosts = List.of();
    List<String> notHosts = List.of();
    List<String> ports = List.of();
    List<String> notPorts = List.of();
    List<String> methods = List.of();
    List<String> notMethods = List.of();
    List<String> paths = List.of();
    List<String> notPaths = List.of();

    OperationBuilder hosts(String... v) {
      hosts = List.of(v);
      return this;
    }

    OperationBuilder notHosts(String... v) {
      notHosts = List.of(v);
      return this;
    }

    OperationBuilder ports(String... v) {
      ports = List.of(v);
      return this;
    }

    OperationBuilder notPorts(String... v) {
      notPorts = List.of(v);
      return this;
    }

    OperationBuilder methods(String... v) {
      methods = List.of(v);
      return this;
    }

    OperationBuilder notMethods(String... v) {
      notMethods = List.of(v);
      return this;
    }

    OperationBuilder paths(String... v) {
      paths = List.of(v);
      return this;
    }

    OperationBuilder notPaths(String... v) {
      notPaths = List.of(v);
      return this;
    }

    Operation build() {
      return new Operation(hosts, notHosts, ports, notPorts, methods, notMethods, paths, notPaths);
    }
  }

  static PolicySet set(PolicyBuilder... policies) {
    return set(Arrays.stream(policies).map(PolicyBuilder::build).toList());
  }

  static PolicySet set(List<AuthorizationPolicy> policies) {
    return new PolicySet(policies, List.of(), "test-revision", List.of(), List.of());
  }

  static PolicyEngine engine(PolicyBuilder... policies) {
    return engine(MeshConfig.DEFAULT, policies);
  }

  static PolicyEngine engine(MeshConfig mesh, PolicyBuilder... policies) {
    try {
      return PolicyEngine.compile(set(policies), mesh);
    } catch (ConfigException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  static MeshConfig mesh(String trustDomain, List<String> aliases, ExtensionProvider... providers) {
    Map<String, ExtensionProvider> map = new LinkedHashMap<>();
    for (ExtensionProvider p : providers) {
      map.put(p.name(), p);
    }
    return new MeshConfig(MeshConfig.DEFAULT_ROOT_NAMESPACE, trustDomain, aliases, map, 0);
  }

  static ExtensionProvider grpcProvider(String name) {
    return new ExtensionProvider(name, true, "authz.foo.svc.cluster.local", 9000, java.time.Duration.ofSeconds(1),
        false, "", List.of());
  }

  static ExtensionProvider httpProvider(String name) {
    return new ExtensionProvider(name, false, "authz.foo.svc.cluster.local", 8000, java.time.Duration.ofSeconds(1),
        false, "", List.of());
  }

  static RequestBuilder http(String method, String host, String path) {
    RequestBuilder b = new RequestBuilder();
    b.method = method;
    b.host = host;
    b.path = path;
    return b;
  }

  static RequestBuilder tcp() {
    return new RequestBuilder();
  }

  static final class RequestBuilder {
    String namespace = "foo";
    Map<String, String> labels = new LinkedHashMap<>();
    String principal;
    IpAddress sourceIp = IpAddress.parse("10.1.2.3").orElseThrow();
    IpAddress remoteIp;
    IpAddress destinationIp = IpAddress.parse("10.9.9.9").orElseThrow();
    int port = 8080;
    String sni;
    String method;
    String host;
    String path;
    final Map<String, String> headers = new LinkedHashMap<>();
    Struct jwt;

    RequestBuilder workload(String ns, String... labelPairs) {
      namespace = ns;
      labels = new LinkedHashMap<>();
      for (int i = 0; i < labelPairs.length; i += 2) {
        labels.put(labelPairs[i], labelPairs[i + 1]);
      }
      return this;
    }

    RequestBuilder principal(String spiffeId) {
      principal = spiffeId;
      return this;
    }

    /** The peer {@code spiffe://cluster.local/ns/NS/sa/SA}. */
    RequestBuilder from(String ns, String sa) {
      return principal("spiffe://cluster.local/ns/" + ns + "/sa/" + sa);
    }

    RequestBuilder sourceIp(String ip) {
      sourceIp = ip == null ? null : IpAddress.parse(ip).orElseThrow();
      return this;
    }

    RequestBuilder remoteIp(String ip) {
      remoteIp = IpAddress.parse(ip).orElseThrow();
      return this;
    }

    RequestBuilder destinationIp(String ip) {
      destinationIp = IpAddress.parse(ip).orElseThrow();
      return this;
    }

    RequestBuilder port(int p) {
      port = p;
      return this;
    }

    RequestBuilder sni(String s) {
      sni = s;
      return this;
    }

    RequestBuilder header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    RequestBuilder jwt(Struct payload) {
      jwt = payload;
      return this;
    }

    RequestAttributes build() {
      HttpAttributes http = null;
      if (method != null) {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.putIfAbsent(":method", method);
        h.putIfAbsent(":authority", host);
        h.putIfAbsent(":path", path);
        http = new HttpAttributes(method, host, path, h);
      }
      return new RequestAttributes(new Workload(namespace, labels), principal, sourceIp,
          remoteIp == null ? sourceIp : remoteIp, destinationIp, port, sni, http, jwt, Map.of());
    }
  }

  /** A JWT payload from alternating key/value pairs; a value may be a String, List, Map, Number or Boolean. */
  static Struct claims(Object... pairs) {
    Struct.Builder b = Struct.newBuilder();
    for (int i = 0; i < pairs.length; i += 2) {
      b.putFields((String) pairs[i], value(pairs[i + 1]));
    }
    return b.build();
  }

  @SuppressWarnings("unchecked")
  static Value value(Object o) {
    return switch (o) {
      case String s -> Value.newBuilder().setStringValue(s).build();
      case Number n -> Value.newBuilder().setNumberValue(n.doubleValue()).build();
      case Boolean bool -> Value.newBuilder().setBoolValue(bool).build();
      case List<?> list -> {
        ListValue.Builder lb = ListValue.newBuilder();
        list.forEach(e -> lb.addValues(value(e)));
        yield Value.newBuilder().setListValue(lb).build();
      }
      case Map<?, ?> map -> {
        Struct.Builder sb = Struct.newBuilder();
        ((Map<String, Object>) map).forEach((k, v) -> sb.putFields(k, value(v)));
        yield Value.newBuilder().setStructValue(sb).build();
      }
      default -> throw new IllegalArgumentException("unsupported claim value " + o);
    };
  }
}

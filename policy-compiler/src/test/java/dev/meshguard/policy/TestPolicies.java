package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds model records in tests without the parser: terse builders for sources, operations, rules, policies. */
final class TestPolicies {
  private TestPolicies() {}

  static PolicySet set(List<AuthorizationPolicy> policies) {
    return new PolicySet(policies, List.of(), "test", List.of(), List.of());
  }

  static PolicyBuilder policy(String namespace, String name) {
    return new PolicyBuilder(namespace, name);
  }

  static RuleBuilder rule() {
    return new RuleBuilder();
  }

  static SourceBuilder source() {
    return new SourceBuilder();
  }

  static OperationBuilder operation() {
    return new OperationBuilder();
  }

  static Condition when(String key, List<String> values, List<String> notValues) {
    return Condition.of(key, values, notValues);
  }

  static final class PolicyBuilder {
    private final String namespace;
    private final String name;
    private Action action = Action.ALLOW;
    private String provider;
    private boolean dryRun;
    private Map<String, String> selector = Map.of();
    private final List<Rule> rules = new ArrayList<>();
    private List<dev.meshguard.policy.model.TargetRef> targetRefs = List.of();

    private PolicyBuilder(String namespace, String name) {
      this.namespace = namespace;
      this.name = name;
    }

    PolicyBuilder action(Action value) {
      this.action = value;
      return this;
    }

    PolicyBuilder custom(String providerName) {
      this.action = Action.CUSTOM;
      this.provider = providerName;
      return this;
    }

    PolicyBuilder dryRun() {
      this.dryRun = true;
      return this;
    }

    PolicyBuilder selector(Map<String, String> labels) {
      this.selector = labels;
      return this;
    }

    PolicyBuilder targetRefs(List<dev.meshguard.policy.model.TargetRef> refs) {
      this.targetRefs = refs;
      return this;
    }

    PolicyBuilder rule(RuleBuilder rule) {
      rules.add(rule.build());
      return this;
    }

    AuthorizationPolicy build() {
      Map<String, String> annotations = dryRun ? Map.of("istio.io/dry-run", "true") : Map.of();
      return new AuthorizationPolicy(AuthorizationPolicy.ISTIO_V1, namespace, name, annotations, dryRun, selector,
          targetRefs, action, provider, rules, Position.UNKNOWN);
    }
  }

  static final class RuleBuilder {
    private final List<Source> from = new ArrayList<>();
    private final List<Operation> to = new ArrayList<>();
    private final List<Condition> when = new ArrayList<>();

    RuleBuilder from(SourceBuilder source) {
      from.add(source.build());
      return this;
    }

    RuleBuilder to(OperationBuilder operation) {
      to.add(operation.build());
      return this;
    }

    RuleBuilder when(String key, List<String> values) {
      when.add(Condition.of(key, values, List.of()));
      return this;
    }

    RuleBuilder when(String key, List<String> values, List<String> notValues) {
      when.add(Condition.of(key, values, notValues));
      return this;
    }

    RuleBuilder when(Condition condition) {
      when.add(condition);
      return this;
    }

    Rule build() {
      return new Rule(from, to, when, Position.UNKNOWN);
    }
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
}

package dev.meshguard.policy;

import static dev.meshguard.policy.RbacMatchers.permissionAnd;
import static dev.meshguard.policy.RbacMatchers.permissionAny;
import static dev.meshguard.policy.RbacMatchers.permissionNot;
import static dev.meshguard.policy.RbacMatchers.permissionOr;
import static dev.meshguard.policy.RbacMatchers.principalAnd;
import static dev.meshguard.policy.RbacMatchers.principalAny;
import static dev.meshguard.policy.RbacMatchers.principalNot;
import static dev.meshguard.policy.RbacMatchers.principalOr;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import java.util.ArrayList;
import java.util.List;

/**
 * One policy rule in the shape of Envoy's RBAC {@code Policy}: istiod's {@code Model}
 * (istio/istio {@code pilot/pkg/security/authz/model/model.go}).
 *
 * <p>Every {@code when} condition is folded into each {@code from} branch (principal-side keys) or
 * each {@code to} branch (permission-side keys), so the policy's permissions are one AND list per
 * {@code to} entry and its principals one AND list per {@code from} entry; Envoy ORs each list and
 * ANDs the two. Within an AND list the source/operation fields come first, in istiod's order
 * (principals, requestPrincipals, serviceAccounts, namespaces, remoteIpBlocks, ipBlocks; hosts,
 * methods, paths, ports), then the conditions in the order written.
 */
final class RbacRuleModel {
  static final String ATTR_REQUEST_HEADER = "request.headers";
  static final String ATTR_REQUEST_INLINE_HEADER = "request.experimental.inline.headers";
  static final String ATTR_REQUEST_CLAIMS = "request.auth.claims";
  static final String ATTR_ENVOY_FILTER = "experimental.envoy.filters.";
  static final String ATTR_SRC_PRINCIPAL = "source.principal";
  static final String METHOD_HEADER = ":method";
  static final String HOST_HEADER = ":authority";
  private static final String PATH_MATCHER = "path-matcher";

  /** One attribute of a rule: a field or condition with its values and notValues. */
  record Entry(String key, List<String> values, List<String> notValues, RbacGenerator generator) {
    Entry {
      values = List.copyOf(values);
      notValues = List.copyOf(notValues);
    }

    Entry withValues(List<String> newValues, List<String> newNotValues) {
      return new Entry(key, newValues, newNotValues, generator);
    }
  }

  private final List<List<Entry>> permissions;
  private final List<List<Entry>> principals;

  private RbacRuleModel(List<List<Entry>> permissions, List<List<Entry>> principals) {
    this.permissions = permissions;
    this.principals = principals;
  }

  /**
   * istiod's {@code model.New}. A meshguard.dev/v1 CEL condition has no Envoy RBAC form: an ALLOW
   * rule holding one is reported unsupported (and so dropped, matching less), while for the other
   * actions only the condition is left out (matching more), the way istiod treats HTTP-only
   * attributes on TCP.
   *
   * @throws RbacUnsupported for a condition key istiod does not know ("unknown attribute"), and for
   *     a CEL condition in an ALLOW rule
   */
  static RbacRuleModel of(String policyNamespace, Rule rule, Action action) throws RbacUnsupported {
    List<Entry> basePermission = new ArrayList<>();
    List<Entry> basePrincipal = new ArrayList<>();
    for (Condition when : rule.when()) {
      String k = when.key();
      if (when.cel() != null) {
        if (action == Action.ALLOW) {
          throw new RbacUnsupported("CEL condition has no Envoy RBAC form");
        }
        continue;
      }
      RbacGenerator g;
      boolean permission;
      if (k.equals("destination.ip")) {
        g = RbacGenerator.DEST_IP;
        permission = true;
      } else if (k.equals("destination.port")) {
        g = RbacGenerator.DEST_PORT;
        permission = true;
      } else if (k.equals("connection.sni")) {
        g = RbacGenerator.CONN_SNI;
        permission = true;
      } else if (k.startsWith(ATTR_ENVOY_FILTER)) {
        g = RbacGenerator.ENVOY_FILTER;
        permission = true;
      } else if (k.equals("source.ip")) {
        g = RbacGenerator.SRC_IP;
        permission = false;
      } else if (k.equals("remote.ip")) {
        g = RbacGenerator.REMOTE_IP;
        permission = false;
      } else if (k.equals("source.namespace")) {
        g = RbacGenerator.SRC_NAMESPACE;
        permission = false;
      } else if (k.equals("source.serviceAccount")) {
        g = RbacGenerator.serviceAccount(policyNamespace);
        permission = false;
      } else if (k.equals(ATTR_SRC_PRINCIPAL)) {
        g = RbacGenerator.SRC_PRINCIPAL;
        permission = false;
      } else if (k.equals("request.auth.principal")) {
        g = RbacGenerator.REQUEST_PRINCIPAL;
        permission = false;
      } else if (k.equals("request.auth.audiences")) {
        g = RbacGenerator.REQUEST_AUDIENCES;
        permission = false;
      } else if (k.equals("request.auth.presenter")) {
        g = RbacGenerator.REQUEST_PRESENTER;
        permission = false;
      } else if (k.startsWith(ATTR_REQUEST_HEADER)) {
        g = RbacGenerator.REQUEST_HEADER;
        permission = false;
      } else if (k.startsWith(ATTR_REQUEST_INLINE_HEADER)) {
        g = RbacGenerator.REQUEST_INLINE_HEADER;
        permission = false;
      } else if (k.startsWith(ATTR_REQUEST_CLAIMS)) {
        g = RbacGenerator.REQUEST_CLAIM;
        permission = false;
      } else {
        throw new RbacUnsupported("unknown attribute " + k);
      }
      appendLast(permission ? basePermission : basePrincipal, g, k, when.values(), when.notValues());
    }

    List<List<Entry>> principals = new ArrayList<>();
    for (Source s : rule.from()) {
      List<Entry> merged = new ArrayList<>(basePrincipal);
      insertFront(merged, RbacGenerator.SRC_IP, "source.ip", s.ipBlocks(), s.notIpBlocks());
      insertFront(merged, RbacGenerator.REMOTE_IP, "remote.ip", s.remoteIpBlocks(), s.notRemoteIpBlocks());
      insertFront(merged, RbacGenerator.SRC_NAMESPACE, "source.namespace", s.namespaces(), s.notNamespaces());
      insertFront(merged, RbacGenerator.serviceAccount(policyNamespace), "source.serviceAccount",
          s.serviceAccounts(), s.notServiceAccounts());
      insertFront(merged, RbacGenerator.REQUEST_PRINCIPAL, "request.auth.principal", s.requestPrincipals(),
          s.notRequestPrincipals());
      insertFront(merged, RbacGenerator.SRC_PRINCIPAL, ATTR_SRC_PRINCIPAL, s.principals(), s.notPrincipals());
      principals.add(merged);
    }
    if (rule.from().isEmpty()) {
      principals.add(basePrincipal);
    }

    List<List<Entry>> permissions = new ArrayList<>();
    for (Operation o : rule.to()) {
      List<Entry> merged = new ArrayList<>(basePermission);
      insertFront(merged, RbacGenerator.DEST_PORT, "destination.port", o.ports(), o.notPorts());
      insertFront(merged, RbacGenerator.PATH, PATH_MATCHER, o.paths(), o.notPaths());
      insertFront(merged, RbacGenerator.METHOD, METHOD_HEADER, o.methods(), o.notMethods());
      insertFront(merged, RbacGenerator.HOST, HOST_HEADER, o.hosts(), o.notHosts());
      permissions.add(merged);
    }
    if (rule.to().isEmpty()) {
      permissions.add(basePermission);
    }
    return new RbacRuleModel(permissions, principals);
  }

  private static void insertFront(List<Entry> list, RbacGenerator g, String key, List<String> values,
      List<String> notValues) {
    if (!values.isEmpty() || !notValues.isEmpty()) {
      list.add(0, new Entry(key, values, notValues, g));
    }
  }

  private static void appendLast(List<Entry> list, RbacGenerator g, String key, List<String> values,
      List<String> notValues) {
    if (!values.isEmpty() || !notValues.isEmpty()) {
      list.add(new Entry(key, values, notValues, g));
    }
  }

  /** istiod's {@code MigrateTrustDomain}: principals expanded over the trust domain and its aliases. */
  RbacRuleModel migrateTrustDomain(RbacTrustDomains bundle) {
    List<List<Entry>> migrated = new ArrayList<>();
    for (List<Entry> list : principals) {
      List<Entry> out = new ArrayList<>(list.size());
      for (Entry e : list) {
        if (e.key().equals(ATTR_SRC_PRINCIPAL)) {
          e = e.withValues(e.values().isEmpty() ? e.values() : bundle.replaceTrustDomainAliases(e.values()),
              e.notValues().isEmpty() ? e.notValues() : bundle.replaceTrustDomainAliases(e.notValues()));
        }
        out.add(e);
      }
      migrated.add(out);
    }
    return new RbacRuleModel(permissions, migrated);
  }

  /**
   * istiod's {@code Model.Generate} for a sidecar ({@code useAuthenticated}: principals are matched
   * on the peer certificate).
   *
   * @param action the RBAC action the rule is built for; only ALLOW lets an unsupported value drop
   *     the rule (istiod's {@code checkError})
   * @throws RbacUnsupported when the rule cannot be generated for an ALLOW filter (e.g. an HTTP-only
   *     attribute on TCP): the caller drops the rule
   */
  Policy generate(boolean forTcp, io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action) throws RbacUnsupported {
    boolean strict = action == io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW;
    Policy.Builder policy = Policy.newBuilder();
    for (List<Entry> list : permissions) {
      List<Permission> and = new ArrayList<>();
      for (Entry e : list) {
        and.addAll(permissionsOf(e, forTcp, strict));
      }
      if (and.isEmpty()) {
        and.add(permissionAny());
      }
      policy.addPermissions(permissionAnd(and));
    }
    for (List<Entry> list : principals) {
      List<Principal> and = new ArrayList<>();
      for (Entry e : list) {
        and.addAll(principalsOf(e, forTcp, strict));
      }
      if (and.isEmpty()) {
        and.add(principalAny());
      }
      policy.addPrincipals(principalAnd(and));
    }
    return policy.build();
  }

  private static List<Permission> permissionsOf(Entry e, boolean forTcp, boolean strict) throws RbacUnsupported {
    List<Permission> out = new ArrayList<>(2);
    switch (e.generator()) {
      case RbacGenerator.Extended g -> {
        if (!e.values().isEmpty()) {
          Permission p = extendedPermission(g, e, e.values(), forTcp, strict);
          if (p != null) {
            out.add(p);
          }
        }
        if (!e.notValues().isEmpty()) {
          Permission p = extendedPermission(g, e, e.notValues(), forTcp, strict);
          if (p != null) {
            out.add(permissionNot(p));
          }
        }
      }
      case RbacGenerator.Simple g -> {
        List<Permission> or = simplePermissions(g, e, e.values(), forTcp, strict);
        if (!or.isEmpty()) {
          out.add(permissionOr(or));
        }
        List<Permission> notOr = simplePermissions(g, e, e.notValues(), forTcp, strict);
        if (!notOr.isEmpty()) {
          out.add(permissionNot(permissionOr(notOr)));
        }
      }
    }
    return out;
  }

  private static Permission extendedPermission(RbacGenerator.Extended g, Entry e, List<String> values,
      boolean forTcp, boolean strict) throws RbacUnsupported {
    try {
      return g.permission(e.key(), values, forTcp);
    } catch (RbacUnsupported unsupported) {
      if (strict) {
        throw unsupported;
      }
      return null;
    }
  }

  private static List<Permission> simplePermissions(RbacGenerator.Simple g, Entry e, List<String> values,
      boolean forTcp, boolean strict) throws RbacUnsupported {
    List<Permission> or = new ArrayList<>(values.size());
    for (String value : values) {
      try {
        or.add(g.permission(e.key(), value, forTcp));
      } catch (RbacUnsupported unsupported) {
        if (strict) {
          throw unsupported;
        }
      }
    }
    return or;
  }

  private static List<Principal> principalsOf(Entry e, boolean forTcp, boolean strict) throws RbacUnsupported {
    List<Principal> out = new ArrayList<>(2);
    switch (e.generator()) {
      case RbacGenerator.Extended g -> {
        if (!e.values().isEmpty()) {
          Principal p = extendedPrincipal(g, e, e.values(), forTcp, strict);
          if (p != null) {
            out.add(p);
          }
        }
        if (!e.notValues().isEmpty()) {
          Principal p = extendedPrincipal(g, e, e.notValues(), forTcp, strict);
          if (p != null) {
            out.add(principalNot(p));
          }
        }
      }
      case RbacGenerator.Simple g -> {
        List<Principal> or = simplePrincipals(g, e, e.values(), forTcp, strict);
        if (!or.isEmpty()) {
          out.add(principalOr(or));
        }
        List<Principal> notOr = simplePrincipals(g, e, e.notValues(), forTcp, strict);
        if (!notOr.isEmpty()) {
          out.add(principalNot(principalOr(notOr)));
        }
      }
    }
    return out;
  }

  private static Principal extendedPrincipal(RbacGenerator.Extended g, Entry e, List<String> values,
      boolean forTcp, boolean strict) throws RbacUnsupported {
    try {
      return g.principal(e.key(), values, forTcp);
    } catch (RbacUnsupported unsupported) {
      if (strict) {
        throw unsupported;
      }
      return null;
    }
  }

  private static List<Principal> simplePrincipals(RbacGenerator.Simple g, Entry e, List<String> values,
      boolean forTcp, boolean strict) throws RbacUnsupported {
    List<Principal> or = new ArrayList<>(values.size());
    for (String value : values) {
      try {
        or.add(g.principal(e.key(), value, forTcp));
      } catch (RbacUnsupported unsupported) {
        if (strict) {
          throw unsupported;
        }
      }
    }
    return or;
  }
}

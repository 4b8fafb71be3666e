package dev.meshguard.policy;

import com.google.protobuf.Any;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Rule;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Emits the Envoy RBAC filter configuration istiod would push to a workload's sidecar for the same
 * policies, for users who want in-proxy enforcement ({@code meshguard policy compile --emit rbac}).
 *
 * <p>The translation is istiod's (istio/istio {@code pilot/pkg/security/authz/builder/builder.go},
 * {@code model/*.go}, {@code matcher/*.go}), value for value: policy names
 * {@code ns[<ns>]-policy[<name>]-rule[<i>]}, principals as {@code authenticated.principal_name}
 * with {@code spiffe://} and the trust domain aliases expanded, namespaces as the regex
 * {@code .*\/ns/<ns>/.*}, paths as {@code url_path} (or {@code uri_template} for {@code {*}} and
 * {@code {**}}), hosts as a case-insensitive {@code :authority} header, methods as {@code :method},
 * ports as {@code destination_port}, {@code ipBlocks} as {@code direct_remote_ip},
 * {@code remoteIpBlocks} as {@code remote_ip}, request principals and JWT claims as metadata
 * matchers on {@code envoy.filters.http.jwt_authn}, every {@code not} form as {@code not_rule} /
 * {@code not_id}; dry-run policies go to {@code shadow_rules}; a policy without rules becomes an
 * explicit never-match policy; on TCP an ALLOW rule with an HTTP-only attribute is dropped and a
 * DENY/AUDIT/CUSTOM rule loses only that attribute.
 *
 * <p>Filters, in the order Envoy runs them: CUSTOM (one per provider: its rules as shadow rules,
 * prefixed {@code istio-ext-authz-<provider>-}, which mark the request for the ext_authz filter
 * that the provider's own config adds; or, for an undefined provider or several providers, DENY
 * rules suffixed {@code -deny-due-to-bad-CUSTOM-action}), AUDIT (action LOG), DENY, ALLOW. Only
 * the actions with policies for the workload appear. The ext_authz filter itself is not emitted.
 *
 * <p>What istiod does not have: meshguard.dev/v1 CEL conditions cannot be expressed; an ALLOW rule
 * with one is dropped (it never matches), other actions drop only the condition (they match more).
 */
public final class RbacEmitter {
  /** The HTTP filter name istiod uses. */
  public static final String HTTP_FILTER_NAME = "envoy.filters.http.rbac";
  /** The network filter name istiod uses. */
  public static final String NETWORK_FILTER_NAME = "envoy.filters.network.rbac";

  static final String SHADOW_ALLOW_PREFIX = "istio_dry_run_allow_";
  static final String SHADOW_DENY_PREFIX = "istio_dry_run_deny_";
  static final String EXT_AUTHZ_SHADOW_PREFIX = "istio_ext_authz_";
  static final String TCP_STAT_PREFIX = "tcp.";
  static final String EXT_AUTHZ_MATCH_PREFIX = "istio-ext-authz";
  static final String BAD_CUSTOM_SUFFIX = "-deny-due-to-bad-CUSTOM-action";

  /** istiod's {@code rbacPolicyMatchNever}: the policy of an ALLOW without rules. */
  static final Policy MATCH_NEVER = Policy.newBuilder()
      .addPermissions(Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)))
      .addPrincipals(Principal.newBuilder().setNotId(Principal.newBuilder().setAny(true)))
      .build();

  private RbacEmitter() {}

  /**
   * The {@code envoy.extensions.filters.http.rbac.v3.RBAC} configs for the workload's HTTP filter
   * chain, in order (CUSTOM, AUDIT, DENY, ALLOW); empty when no policy applies.
   */
  public static List<RBAC> http(PolicySet set, MeshConfig mesh, Workload workload) {
    Objects.requireNonNull(set, "set");
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(workload, "workload");
    Map<Action, List<AuthorizationPolicy>> policies = RbacPolicySelection.byAction(set, mesh, workload);
    RbacTrustDomains tds = RbacTrustDomains.of(mesh);
    List<RBAC> out = new ArrayList<>();
    for (Built custom : customs(policies.get(Action.CUSTOM), mesh, tds, false)) {
      out.add(custom.bad
          ? RBAC.newBuilder().setRules(custom.rules).build()
          : httpCustom(custom));
    }
    for (Built built : standard(policies, tds, false)) {
      RBAC.Builder rbac = RBAC.newBuilder().setShadowRulesStatPrefix(shadowStatPrefix(built.shadow));
      if (built.rules != null) {
        rbac.setRules(built.rules);
      }
      if (built.shadow != null) {
        rbac.setShadowRules(built.shadow);
      }
      out.add(rbac.build());
    }
    return List.copyOf(out);
  }

  /**
   * The {@code envoy.extensions.filters.network.rbac.v3.RBAC} configs for a TCP filter chain, in
   * order; a CUSTOM provider with an HTTP ext_authz service is left out, as istiod does.
   */
  public static List<io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC> tcp(PolicySet set, MeshConfig mesh,
      Workload workload) {
    Objects.requireNonNull(set, "set");
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(workload, "workload");
    Map<Action, List<AuthorizationPolicy>> policies = RbacPolicySelection.byAction(set, mesh, workload);
    RbacTrustDomains tds = RbacTrustDomains.of(mesh);
    List<io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC> out = new ArrayList<>();
    for (Built custom : customs(policies.get(Action.CUSTOM), mesh, tds, true)) {
      var rbac = io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
          .setStatPrefix(TCP_STAT_PREFIX);
      if (custom.bad) {
        out.add(rbac.setRules(custom.rules).build());
        continue;
      }
      ExtensionProvider provider = mesh.extensionProviders().get(custom.provider);
      if (!provider.grpc()) {
        continue;
      }
      rbac.setShadowRules(custom.rules).setShadowRulesStatPrefix(EXT_AUTHZ_SHADOW_PREFIX);
      if (custom.shadow.getPoliciesCount() > 0) {
        rbac.setRules(custom.shadow);
      }
      out.add(rbac.build());
    }
    for (Built built : standard(policies, tds, true)) {
      var rbac = io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
          .setStatPrefix(TCP_STAT_PREFIX)
          .setShadowRulesStatPrefix(shadowStatPrefix(built.shadow));
      if (built.rules != null) {
        rbac.setRules(built.rules);
      }
      if (built.shadow != null) {
        rbac.setShadowRules(built.shadow);
      }
      out.add(rbac.build());
    }
    return List.copyOf(out);
  }

  /** {@link #http} wrapped as named HTTP filters ({@value #HTTP_FILTER_NAME}) for an HCM filter chain. */
  public static List<HttpFilter> httpFilters(PolicySet set, MeshConfig mesh, Workload workload) {
    return http(set, mesh, workload).stream()
        .map(rbac -> HttpFilter.newBuilder().setName(HTTP_FILTER_NAME).setTypedConfig(Any.pack(rbac)).build())
        .toList();
  }

  /** {@link #tcp} wrapped as named network filters ({@value #NETWORK_FILTER_NAME}). */
  public static List<Filter> networkFilters(PolicySet set, MeshConfig mesh, Workload workload) {
    return tcp(set, mesh, workload).stream()
        .map(rbac -> Filter.newBuilder().setName(NETWORK_FILTER_NAME).setTypedConfig(Any.pack(rbac)).build())
        .toList();
  }

  /**
   * What istiod's {@code build} produced for one action (or one CUSTOM provider): the enforced
   * rules and the dry-run (shadow) rules, each null when no policy of that kind exists.
   */
  private record Built(io.envoyproxy.envoy.config.rbac.v3.RBAC rules, io.envoyproxy.envoy.config.rbac.v3.RBAC shadow,
      String provider, boolean bad) {}

  /** AUDIT (LOG), DENY, ALLOW, in that order, for the actions that have policies. */
  private static List<Built> standard(Map<Action, List<AuthorizationPolicy>> policies, RbacTrustDomains tds,
      boolean forTcp) {
    List<Built> out = new ArrayList<>();
    addIfAny(out, policies.get(Action.AUDIT), io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG, tds, forTcp);
    addIfAny(out, policies.get(Action.DENY), io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY, tds, forTcp);
    addIfAny(out, policies.get(Action.ALLOW), io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW, tds, forTcp);
    return out;
  }

  private static void addIfAny(List<Built> out, List<AuthorizationPolicy> policies,
      io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action, RbacTrustDomains tds, boolean forTcp) {
    if (policies.isEmpty()) {
      return;
    }
    TreeMap<String, Policy> enforce = new TreeMap<>();
    TreeMap<String, Policy> shadow = new TreeMap<>();
    boolean hasEnforce = false;
    boolean hasShadow = false;
    for (AuthorizationPolicy policy : policies) {
      if (policy.dryRun()) {
        hasShadow = true;
        translate(policy, action, "", tds, forTcp, shadow);
      } else {
        hasEnforce = true;
        translate(policy, action, "", tds, forTcp, enforce);
      }
    }
    out.add(new Built(hasEnforce ? rbac(action, enforce) : null, hasShadow ? rbac(action, shadow) : null, null,
        false));
  }

  /**
   * The CUSTOM filters: per provider (sorted), its enforced rules and its dry-run rules; all turned
   * into DENY rules when a provider is not defined in the mesh config or the workload has several
   * providers (istiod without {@code PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS}).
   */
  private static List<Built> customs(List<AuthorizationPolicy> policies, MeshConfig mesh, RbacTrustDomains tds,
      boolean forTcp) {
    if (policies.isEmpty()) {
      return List.of();
    }
    io.envoyproxy.envoy.config.rbac.v3.RBAC.Action deny = io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY;
    Map<String, TreeMap<String, Policy>> enforce = new TreeMap<>();
    Map<String, TreeMap<String, Policy>> shadow = new TreeMap<>();
    for (AuthorizationPolicy policy : policies) {
      String provider = policy.provider() == null ? "" : policy.provider();
      enforce.computeIfAbsent(provider, p -> new TreeMap<>());
      shadow.computeIfAbsent(provider, p -> new TreeMap<>());
      String prefix = provider.isEmpty() ? EXT_AUTHZ_MATCH_PREFIX + "-" : EXT_AUTHZ_MATCH_PREFIX + "-" + provider + "-";
      translate(policy, deny, prefix, tds, forTcp, policy.dryRun() ? shadow.get(provider) : enforce.get(provider));
    }
    TreeSet<String> providers = new TreeSet<>(enforce.keySet());
    boolean several = providers.size() > 1;
    List<Built> out = new ArrayList<>();
    for (String provider : providers) {
      ExtensionProvider config = mesh.extensionProviders().get(provider);
      if (several || config == null || config.port() < 1 || config.port() > 65535) {
        TreeMap<String, Policy> bad = new TreeMap<>();
        enforce.get(provider).forEach((name, policy) -> bad.put(name + BAD_CUSTOM_SUFFIX, policy));
        out.add(new Built(rbac(deny, bad), null, provider, true));
      } else {
        out.add(new Built(rbac(deny, enforce.get(provider)), rbac(deny, shadow.get(provider)), provider, false));
      }
    }
    return out;
  }

  /**
   * A CUSTOM provider's HTTP RBAC: the enforced CUSTOM rules as shadow rules (they only mark the
   * request for ext_authz), and the dry-run CUSTOM rules, if any, as {@code rules}, exactly as
   * istiod's {@code buildHTTP} places them.
   */
  private static RBAC httpCustom(Built custom) {
    RBAC.Builder rbac = RBAC.newBuilder().setShadowRules(custom.rules).setShadowRulesStatPrefix(EXT_AUTHZ_SHADOW_PREFIX);
    if (custom.shadow.getPoliciesCount() > 0) {
      rbac.setRules(custom.shadow);
    }
    return rbac.build();
  }

  /** One policy's rules into {@code into}, named as istiod names them; a policy without rules never matches. */
  private static void translate(AuthorizationPolicy policy, io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action,
      String prefix, RbacTrustDomains tds, boolean forTcp, Map<String, Policy> into) {
    Action modelAction = policy.action();
    List<Rule> rules = policy.rules();
    for (int i = 0; i < rules.size(); i++) {
      String name = policyName(prefix, policy.namespace(), policy.name(), i);
      try {
        into.put(name, RbacRuleModel.of(policy.namespace(), rules.get(i), modelAction)
            .migrateTrustDomain(tds)
            .generate(forTcp, action));
      } catch (RbacUnsupported skipped) {
        // istiod skips the rule ("skipped rule ... on TCP filter chain" / "skipped invalid rule").
      }
    }
    if (rules.isEmpty()) {
      into.put(policyName(prefix, policy.namespace(), policy.name(), 0), MATCH_NEVER);
    }
  }

  static String policyName(String prefix, String namespace, String name, int rule) {
    return prefix + "ns[" + namespace + "]-policy[" + name + "]-rule[" + rule + "]";
  }

  private static io.envoyproxy.envoy.config.rbac.v3.RBAC rbac(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action,
      Map<String, Policy> policies) {
    return io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder().setAction(action).putAllPolicies(policies).build();
  }

  /**
   * istiod's {@code shadowRuleStatPrefix}: by the shadow rules' action, where absent rules read as
   * ALLOW (Go's nil {@code GetAction()}), so a filter without dry-run policies still carries
   * {@code istio_dry_run_allow_}; LOG gets none.
   */
  private static String shadowStatPrefix(io.envoyproxy.envoy.config.rbac.v3.RBAC shadow) {
    if (shadow == null) {
      return SHADOW_ALLOW_PREFIX;
    }
    return switch (shadow.getAction()) {
      case ALLOW -> SHADOW_ALLOW_PREFIX;
      case DENY -> SHADOW_DENY_PREFIX;
      default -> "";
    };
  }
}

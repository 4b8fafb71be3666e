package dev.meshguard.policy;

import static dev.meshguard.policy.RbacMatchers.cidr;
import static dev.meshguard.policy.RbacMatchers.jwtClaimListOrValue;
import static dev.meshguard.policy.RbacMatchers.jwtClaimString;
import static dev.meshguard.policy.RbacMatchers.principalAnd;
import static dev.meshguard.policy.RbacMatchers.principalAuthenticated;
import static dev.meshguard.policy.RbacMatchers.principalOr;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.ArrayList;
import java.util.List;

/**
 * How one policy attribute becomes an RBAC permission or principal: istiod's generators
 * (istio/istio {@code pilot/pkg/security/authz/model/generator.go}). A {@link Simple} generator
 * turns each value into one matcher and the rule ORs them; an {@link Extended} one turns the whole
 * value list into one matcher (istiod's {@code extendedGenerator}: request principals, JWT claims,
 * audiences, presenter, {@code experimental.envoy.filters.*}).
 */
sealed interface RbacGenerator {

  /** Per-value generator. */
  non-sealed interface Simple extends RbacGenerator {
    default Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      throw new RbacUnsupported("unimplemented");
    }

    default Principal principal(String key, String value, boolean forTcp) throws RbacUnsupported {
      throw new RbacUnsupported("unimplemented");
    }
  }

  /** Whole-list generator. */
  non-sealed interface Extended extends RbacGenerator {
    default Permission permission(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
      throw new RbacUnsupported("unimplemented");
    }

    default Principal principal(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
      throw new RbacUnsupported("unimplemented");
    }
  }

  private static void httpOnly(String key, boolean forTcp) throws RbacUnsupported {
    if (forTcp) {
      throw new RbacUnsupported("\"" + key + "\" is HTTP only");
    }
  }

  /** {@code destination.ip}: destination_ip. */
  Simple DEST_IP = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      return Permission.newBuilder().setDestinationIp(cidr(value)).build();
    }
  };

  /** {@code ports}, {@code destination.port}: destination_port. */
  Simple DEST_PORT = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      return Permission.newBuilder().setDestinationPort(RbacMatchers.port(value)).build();
    }
  };

  /** {@code connection.sni}: requested_server_name. */
  Simple CONN_SNI = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) {
      return Permission.newBuilder().setRequestedServerName(RbacMatchers.string(value)).build();
    }
  };

  /** {@code ipBlocks}, {@code source.ip}: direct_remote_ip (the connection's peer). */
  Simple SRC_IP = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) throws RbacUnsupported {
      return Principal.newBuilder().setDirectRemoteIp(cidr(value)).build();
    }
  };

  /** {@code remoteIpBlocks}, {@code remote.ip}: remote_ip (the original client, from XFF). */
  Simple REMOTE_IP = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) throws RbacUnsupported {
      return Principal.newBuilder().setRemoteIp(cidr(value)).build();
    }
  };

  /** {@code namespaces}, {@code source.namespace}: regex {@code .*\/ns/<v>/.*}, each {@code *} as {@code .*}. */
  Simple SRC_NAMESPACE = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) {
      return principalAuthenticated(RbacMatchers.regex(".*/ns/" + value.replace("*", ".*") + "/.*"));
    }
  };

  /** {@code principals}, {@code source.principal}: the SPIFFE URI, {@code spiffe://} prepended. */
  Simple SRC_PRINCIPAL = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) {
      return principalAuthenticated(RbacMatchers.stringWithPrefix(value, RbacMatchers.SPIFFE_PREFIX));
    }
  };

  /** {@code request.headers[name]}: a header principal. */
  Simple REQUEST_HEADER = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      String name = RbacMatchers.nameInBrackets(key.substring(RbacRuleModel.ATTR_REQUEST_HEADER.length()));
      return Principal.newBuilder().setHeader(RbacMatchers.header(name, value)).build();
    }
  };

  /** {@code request.experimental.inline.headers[name]}: one element of a comma-joined header. */
  Simple REQUEST_INLINE_HEADER = new Simple() {
    @Override
    public Principal principal(String key, String value, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      String name = RbacMatchers.nameInBrackets(key.substring(RbacRuleModel.ATTR_REQUEST_INLINE_HEADER.length()));
      return Principal.newBuilder().setHeader(RbacMatchers.inlineHeader(name, value)).build();
    }
  };

  /** {@code hosts}: header {@code :authority}, case-insensitive. */
  Simple HOST = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      return Permission.newBuilder().setHeader(RbacMatchers.host(RbacRuleModel.HOST_HEADER, value)).build();
    }
  };

  /** {@code paths}: url_path, or uri_template for a path with {@code {*}} or {@code {**}}. */
  Simple PATH = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      if (RbacMatchers.containsPathTemplate(value)) {
        return Permission.newBuilder().setUriTemplate(RbacMatchers.pathTemplate(value)).build();
      }
      return Permission.newBuilder().setUrlPath(RbacMatchers.path(value)).build();
    }
  };

  /** {@code methods}: header {@code :method}. */
  Simple METHOD = new Simple() {
    @Override
    public Permission permission(String key, String value, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      return Permission.newBuilder().setHeader(RbacMatchers.header(RbacRuleModel.METHOD_HEADER, value)).build();
    }
  };

  /**
   * {@code serviceAccounts}, {@code source.serviceAccount}: {@code ns/sa} (or {@code sa} in the
   * policy's namespace) as the regex of istiod's {@code serviceAccountRegex}.
   */
  static Simple serviceAccount(String policyNamespace) {
    return new Simple() {
      @Override
      public Principal principal(String key, String value, boolean forTcp) {
        int slash = value.indexOf('/');
        String ns = slash < 0 ? policyNamespace : value.substring(0, slash);
        String sa = slash < 0 ? value : value.substring(slash + 1);
        return principalAuthenticated(
            RbacMatchers.regex("spiffe://.+/ns/" + ns + "/(.+/|)sa/" + sa + "(/.+)?"));
      }
    };
  }

  /**
   * {@code requestPrincipals}, {@code request.auth.principal}: {@code iss/sub} split at the last
   * {@code /}, each half matched against the verified JWT payload's {@code iss} and {@code sub}.
   */
  Extended REQUEST_PRINCIPAL = new Extended() {
    @Override
    public Principal principal(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      StringMatcher any = RbacMatchers.regex(".+");
      List<Principal> or = new ArrayList<>();
      for (String value : values) {
        int idx = value.lastIndexOf('/');
        boolean found = idx >= 0;
        String iss = found ? value.substring(0, idx) : value;
        String sub = found ? value.substring(idx + 1) : "";
        StringMatcher matchIss;
        StringMatcher matchSub;
        if (value.equals("*")) {
          matchIss = any;
          matchSub = any;
        } else if (value.startsWith("*")) {
          if (found) {
            matchIss = iss.equals("*") ? any : RbacMatchers.suffix(iss.substring(1), false);
            matchSub = RbacMatchers.exact(sub, false);
          } else {
            matchIss = any;
            matchSub = RbacMatchers.suffix(value.substring(1), false);
          }
        } else if (value.endsWith("*")) {
          if (found) {
            matchIss = RbacMatchers.exact(iss, false);
            matchSub = sub.equals("*") ? any : RbacMatchers.prefix(sub.substring(0, sub.length() - 1), false);
          } else {
            matchIss = RbacMatchers.prefix(value.substring(0, value.length() - 1), false);
            matchSub = any;
          }
        } else {
          matchIss = RbacMatchers.exact(iss, false);
          matchSub = RbacMatchers.exact(sub, false);
        }
        or.add(principalAnd(List.of(
            RbacMatchers.principalMetadata(jwtClaimString("iss", matchIss)),
            RbacMatchers.principalMetadata(jwtClaimString("sub", matchSub)))));
      }
      if (or.isEmpty()) {
        return null;
      }
      return or.size() == 1 ? or.get(0) : principalOr(or);
    }
  };

  /** {@code request.auth.audiences}: the {@code aud} claim (string or list). */
  Extended REQUEST_AUDIENCES = claim(List.of("aud"));

  /** {@code request.auth.presenter}: the {@code azp} claim (string or list). */
  Extended REQUEST_PRESENTER = claim(List.of("azp"));

  private static Extended claim(List<String> path) {
    return new Extended() {
      @Override
      public Principal principal(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
        httpOnly(key, forTcp);
        return RbacMatchers.principalMetadata(jwtClaimListOrValue(path, RbacMatchers.stringOr(values)));
      }
    };
  }

  /** {@code request.auth.claims[a][b]...}: the nested claim (string or list). */
  Extended REQUEST_CLAIM = new Extended() {
    @Override
    public Principal principal(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
      httpOnly(key, forTcp);
      List<String> claims = RbacMatchers.namesInNestedBrackets(key.substring(RbacRuleModel.ATTR_REQUEST_CLAIMS.length()));
      return RbacMatchers.principalMetadata(jwtClaimListOrValue(claims, RbacMatchers.stringOr(values)));
    }
  };

  /**
   * {@code experimental.envoy.filters.<f>[<k>]}: dynamic metadata of filter {@code <f>} at key
   * {@code <k>}; a value {@code [v]} matches a list element, {@code v} a string.
   */
  Extended ENVOY_FILTER = new Extended() {
    @Override
    public Permission permission(String key, List<String> values, boolean forTcp) throws RbacUnsupported {
      String trimmed = key.startsWith("experimental.") ? key.substring("experimental.".length()) : key;
      if (trimmed.endsWith("]")) {
        trimmed = trimmed.substring(0, trimmed.length() - 1);
      }
      String[] parts = RbacMatchers.splitAtBracket(trimmed);
      if (parts.length != 2) {
        throw new RbacUnsupported("invalid key: " + key);
      }
      List<ValueMatcher> matchers = new ArrayList<>();
      for (String value : values) {
        if (value.startsWith("[") && value.endsWith("]")) {
          matchers.add(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(
              ValueMatcher.newBuilder().setStringMatch(RbacMatchers.string(RbacMatchers.trimBrackets(value)))))
              .build());
        } else {
          matchers.add(ValueMatcher.newBuilder().setStringMatch(RbacMatchers.string(value)).build());
        }
      }
      return RbacMatchers.permissionMetadata(RbacMatchers.metadataValue(parts[0], parts[1], RbacMatchers.or(matchers)));
    }
  };
}

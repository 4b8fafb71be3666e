package dev.meshguard.policy;

import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The revision of a policy set: SHA-256 over a canonical JSON form of its policies, sorted by
 * namespace and name. The form holds what the policies say and nothing of where they were written
 * (no file names, no positions), with map keys sorted and every field present, so equal policies
 * in any files and any order give the same revision, and any change of content a different one.
 * List order inside a policy is kept: rule indexes appear in decisions.
 */
final class PolicyDigest {

  /** Changes when the canonical form changes, so old and new revisions never collide by accident. */
  static final String FORMAT = "meshguard.policy-set/v1";

  private PolicyDigest() {}

  /** Hex SHA-256 of {@link #canonical}. */
  static String revision(List<AuthorizationPolicy> policies, List<RequestAuthentication> authentications) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(canonical(policies, authentications).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  /** The canonical JSON of the set (policies in the order given: the caller sorts them). */
  static String canonical(List<AuthorizationPolicy> policies, List<RequestAuthentication> authentications) {
    Json json = new Json();
    json.open('{').key("format").string(FORMAT);
    json.key("authorization_policies").open('[');
    for (AuthorizationPolicy p : policies) {
      json.open('{')
          .key("api_version").string(p.apiVersion())
          .key("namespace").string(p.namespace())
          .key("name").string(p.name())
          .key("annotations").map(p.annotations())
          .key("dry_run").bool(p.dryRun())
          .key("selector").map(p.selector());
      targetRefs(json, p.targetRefs());
      json.key("action").string(p.action().name())
          .key("provider").string(p.provider())
          .key("rules").open('[');
      for (Rule rule : p.rules()) {
        rule(json, rule);
      }
      json.close(']').close('}');
    }
    json.close(']');
    json.key("request_authentications").open('[');
    for (RequestAuthentication r : authentications) {
      json.open('{')
          .key("api_version").string(r.apiVersion())
          .key("namespace").string(r.namespace())
          .key("name").string(r.name())
          .key("selector").map(r.selector());
      targetRefs(json, r.targetRefs());
      json.key("jwt_rules").open('[');
      for (JwtRule j : r.jwtRules()) {
        jwtRule(json, j);
      }
      json.close(']').close('}');
    }
    json.close(']').close('}');
    return json.toString();
  }

  private static void targetRefs(Json json, List<TargetRef> refs) {
    json.key("target_refs").open('[');
    for (TargetRef ref : refs) {
      json.open('{').key("group").string(ref.group()).key("kind").string(ref.kind()).key("name").string(ref.name())
          .key("namespace").string(ref.namespace()).close('}');
    }
    json.close(']');
  }

  private static void rule(Json json, Rule rule) {
    json.open('{').key("from").open('[');
    for (Source s : rule.from()) {
      json.open('{')
          .key("principals").strings(s.principals())
          .key("not_principals").strings(s.notPrincipals())
          .key("request_principals").strings(s.requestPrincipals())
          .key("not_request_principals").strings(s.notRequestPrincipals())
          .key("namespaces").strings(s.namespaces())
          .key("not_namespaces").strings(s.notNamespaces())
          .key("ip_blocks").strings(s.ipBlocks())
          .key("not_ip_blocks").strings(s.notIpBlocks())
          .key("remote_ip_blocks").strings(s.remoteIpBlocks())
          .key("not_remote_ip_blocks").strings(s.notRemoteIpBlocks())
          .key("service_accounts").strings(s.serviceAccounts())
          .key("not_service_accounts").strings(s.notServiceAccounts())
          .close('}');
    }
    json.close(']').key("to").open('[');
    for (Operation o : rule.to()) {
      json.open('{')
          .key("hosts").strings(o.hosts())
          .key("not_hosts").strings(o.notHosts())
          .key("ports").strings(o.ports())
          .key("not_ports").strings(o.notPorts())
          .key("methods").strings(o.methods())
          .key("not_methods").strings(o.notMethods())
          .key("paths").strings(o.paths())
          .key("not_paths").strings(o.notPaths())
          .close('}');
    }
    json.close(']').key("when").open('[');
    for (Condition c : rule.when()) {
      json.open('{').key("key").string(c.key()).key("values").strings(c.values())
          .key("not_values").strings(c.notValues()).key("cel").string(c.cel()).close('}');
    }
    json.close(']').close('}');
  }

  private static void jwtRule(Json json, JwtRule j) {
    json.open('{')
        .key("issuer").string(j.issuer())
        .key("audiences").strings(j.audiences())
        .key("jwks_uri").string(j.jwksUri())
        .key("jwks").string(j.jwks())
        .key("from_headers").open('[');
    for (JwtRule.JwtHeader h : j.fromHeaders()) {
      json.open('{').key("name").string(h.name()).key("prefix").string(h.prefix()).close('}');
    }
    json.close(']')
        .key("from_params").strings(j.fromParams())
        .key("from_cookies").strings(j.fromCookies())
        .key("output_payload_to_header").string(j.outputPayloadToHeader())
        .key("output_claim_to_headers").open('[');
    for (JwtRule.ClaimToHeader c : j.outputClaimToHeaders()) {
      json.open('{').key("header").string(c.header()).key("claim").string(c.claim()).close('}');
    }
    json.close(']')
        .key("forward_original_token").bool(j.forwardOriginalToken())
        .key("timeout").string(j.timeout())
        .key("space_delimited_claims").strings(j.spaceDelimitedClaims())
        .close('}');
  }

  /** A minimal JSON writer: commas handled, strings escaped per RFC 8259, no whitespace. */
  private static final class Json {
    private final StringBuilder out = new StringBuilder(1024);
    private boolean needComma;

    Json open(char c) {
      comma();
      out.append(c);
      needComma = false;
      return this;
    }

    Json close(char c) {
      out.append(c);
      needComma = true;
      return this;
    }

    Json key(String key) {
      comma();
      escape(key);
      out.append(':');
      needComma = false;
      return this;
    }

    Json string(String value) {
      comma();
      if (value == null) {
        out.append("null");
      } else {
        escape(value);
      }
      needComma = true;
      return this;
    }

    Json bool(boolean value) {
      comma();
      out.append(value);
      needComma = true;
      return this;
    }

    Json strings(List<String> values) {
      open('[');
      for (String value : values) {
        string(value);
      }
      return close(']');
    }

    Json map(Map<String, String> values) {
      open('{');
      for (Map.Entry<String, String> entry : new TreeMap<>(values).entrySet()) {
        key(entry.getKey()).string(entry.getValue());
      }
      return close('}');
    }

    private void comma() {
      if (needComma) {
        out.append(',');
      }
    }

    private void escape(String s) {
      out.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"' -> out.append("\\\"");
          case '\\' -> out.append("\\\\");
          default -> {
            if (c < 0x20 || Character.isSurrogate(c)) {
              out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
              out.append(c);
            }
          }
        }
      }
      out.append('"');
    }

    @Override
    public String toString() {
      return out.toString();
    }
  }
}

package dev.meshguard.policy;

import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.policy.ResourceReader.Meta;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.JwtRule.ClaimToHeader;
import dev.meshguard.policy.model.JwtRule.JwtHeader;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.TargetRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates the {@code spec} of one RequestAuthentication: validation.go's
 * ValidateRequestAuthentication and validateJwtRule, and the CRD's schema for JWTRule (non-empty
 * strings, {@code jwksUri} scheme and length, jwks and jwksUri exclusive, at most 4096 rules and 64
 * space-delimited claims).
 */
final class RequestAuthenticationReader {

  static final int MAX_JWT_RULES = 4096;
  static final int MAX_SPACE_DELIMITED_CLAIMS = 64;
  static final int MAX_JWKS_URI_LENGTH = 2048;

  private static final Set<String> SPEC = Set.of("selector", "targetRef", "targetRefs", "jwtRules");
  private static final Set<String> JWT_RULE = Set.of("issuer", "audiences", "jwksUri", "jwks_uri", "jwks",
      "fromHeaders", "fromParams", "fromCookies", "outputPayloadToHeader", "outputClaimToHeaders",
      "forwardOriginalToken", "timeout", "spaceDelimitedClaims");
  private static final Set<String> FROM_HEADER = Set.of("name", "prefix");
  private static final Set<String> CLAIM_TO_HEADER = Set.of("header", "claim");

  private final Diagnostics diagnostics;

  RequestAuthenticationReader(Diagnostics diagnostics) {
    this.diagnostics = diagnostics;
  }

  /** Reads the resource; null when {@code meta} is (the envelope had errors). */
  RequestAuthentication read(Meta meta, Fields spec, Fields root) {
    Map<String, String> selector = Map.of();
    List<TargetRef> targetRefs = List.of();
    List<JwtRule> rules = new ArrayList<>();
    if (meta != null) {
      Located<String> dryRun = meta.annotations().get(ResourceReader.DRY_RUN_ANNOTATION);
      if (dryRun != null) {
        diagnostics.error(dryRun.mark(), dryRun.path(), meta.namespace() + "/" + meta.name()
            + " has unsupported annotation " + ResourceReader.DRY_RUN_ANNOTATION + ", please remove the annotation");
      }
    }
    if (spec != null) {
      spec.rejectUnknown(SPEC);
      selector = Selectors.selector(diagnostics, spec);
      targetRefs = Selectors.targetRefs(diagnostics, spec, AuthorizationPolicyReader.MAX_TARGET_REFS);
      Selectors.checkOneOf(diagnostics, spec);
      List<YamlNode> ruleNodes = spec.list("jwtRules");
      ResourceReader.maxItems(diagnostics, spec, "jwtRules", ruleNodes, MAX_JWT_RULES);
      if (ruleNodes != null) {
        ResourceReader.each(ruleNodes, spec.childPath("jwtRules"), (i, node, path) -> {
          if (node instanceof Null) {
            diagnostics.error(node.mark(), path, "jwtRule must not be null");
            return;
          }
          Fields rule = Fields.of(diagnostics, node, path);
          if (rule != null) {
            rules.add(jwtRule(rule));
          }
        });
      }
    }
    if (meta == null) {
      return null;
    }
    return new RequestAuthentication(meta.apiVersion(), meta.namespace(), meta.name(), selector, targetRefs, rules,
        meta.position());
  }

  private JwtRule jwtRule(Fields rule) {
    rule.rejectUnknown(JWT_RULE);
    Located<String> issuer = rule.string("issuer");
    Located<String> jwksUri = rule.string("jwksUri");
    Located<String> jwksUriSnake = rule.string("jwks_uri");
    Located<String> jwks = rule.string("jwks");
    Located<String> uri = jwksUri != null ? jwksUri : jwksUriSnake;

    int jwksSources = (rule.has("jwksUri") ? 1 : 0) + (rule.has("jwks_uri") ? 1 : 0) + (rule.has("jwks") ? 1 : 0);
    if (jwksSources > 1) {
      diagnostics.error(rule.mark(), rule.path(), "only one of jwks or jwksUri can be set");
    }
    if (issuer != null && issuer.value().isEmpty()) {
      diagnostics.error(issuer.mark(), issuer.path(), "issuer must not be empty; leave it out to take the jwksUri alone");
    }
    boolean noIssuer = issuer == null || issuer.value().isEmpty();
    boolean noUri = uri == null || uri.value().isEmpty();
    if (noIssuer && noUri && !rule.has("issuer")) {
      diagnostics.error(rule.mark(), rule.path(), "issuer or jwksUri must be non-empty string");
    }
    for (Located<String> u : Arrays.asList(jwksUri, jwksUriSnake)) {
      if (u == null) {
        continue;
      }
      if (u.value().isEmpty()) {
        diagnostics.error(u.mark(), u.path(), "jwksUri must not be empty");
      } else if (u.value().length() > MAX_JWKS_URI_LENGTH) {
        diagnostics.error(u.mark(), u.path(), "must be no more than " + MAX_JWKS_URI_LENGTH + " characters");
      } else {
        String problem = IstioChecks.checkJwksUri(u.value());
        if (problem != null) {
          diagnostics.error(u.mark(), u.path(), problem);
        }
      }
    }
    if (jwks != null && !jwks.value().isEmpty()) {
      String problem = IstioChecks.checkJwks(jwks.value());
      if (problem != null) {
        diagnostics.error(jwks.mark(), jwks.path(), problem);
      }
    }

    List<Located<String>> audiences = rule.strings("audiences");
    nonEmpty(audiences, "audience must be non-empty string");
    List<Located<String>> fromParams = rule.strings("fromParams");
    nonEmpty(fromParams, "location query must be non-empty string");
    List<Located<String>> fromCookies = rule.strings("fromCookies");
    nonEmpty(fromCookies, "cookie name must be non-empty string");
    List<Located<String>> spaceDelimited = rule.strings("spaceDelimitedClaims");
    nonEmpty(spaceDelimited, "claim name must be non-empty string");
    ResourceReader.maxItems(diagnostics, rule, "spaceDelimitedClaims", spaceDelimited, MAX_SPACE_DELIMITED_CLAIMS);

    List<JwtHeader> fromHeaders = new ArrayList<>();
    List<YamlNode> headerNodes = rule.list("fromHeaders");
    if (headerNodes != null) {
      ResourceReader.each(headerNodes, rule.childPath("fromHeaders"), (i, node, path) -> {
        if (node instanceof Null) {
          diagnostics.error(node.mark(), path, "location header name must be non-null");
          return;
        }
        Fields header = Fields.of(diagnostics, node, path);
        if (header == null) {
          return;
        }
        header.rejectUnknown(FROM_HEADER);
        Located<String> name = header.string("name");
        Located<String> prefix = header.string("prefix");
        if (name == null || name.value().isEmpty()) {
          if (name != null || !header.has("name")) {
            diagnostics.error(name == null ? header.mark() : name.mark(), header.childPath("name"),
                "location header name must be non-empty string");
          }
          return;
        }
        fromHeaders.add(new JwtHeader(name.value(), prefix == null ? "" : prefix.value()));
      });
    }

    List<ClaimToHeader> claimsToHeaders = new ArrayList<>();
    List<YamlNode> claimNodes = rule.list("outputClaimToHeaders");
    if (claimNodes != null) {
      ResourceReader.each(claimNodes, rule.childPath("outputClaimToHeaders"), (i, node, path) -> {
        if (node instanceof Null) {
          diagnostics.error(node.mark(), path, "outputClaimToHeaders must not be null");
          return;
        }
        Fields claim = Fields.of(diagnostics, node, path);
        if (claim == null) {
          return;
        }
        claim.rejectUnknown(CLAIM_TO_HEADER);
        Located<String> header = claim.string("header");
        Located<String> name = claim.string("claim");
        if (header == null || name == null || header.value().isEmpty() || name.value().isEmpty()) {
          if ((header != null || !claim.has("header")) && (name != null || !claim.has("claim"))) {
            diagnostics.error(claim.mark(), claim.path(),
                "outputClaimToHeaders header and claim value must be non-empty string");
          }
          return;
        }
        if (!IstioChecks.isHeaderName(header.value())) {
          diagnostics.error(header.mark(), header.path(), "header name " + Nodes.quote(header.value())
              + " is not a valid header name (letters, digits, '-' and '_')");
          return;
        }
        claimsToHeaders.add(new ClaimToHeader(header.value(), name.value()));
      });
    }

    Located<String> timeout = rule.string("timeout");
    if (timeout != null) {
      String problem = IstioChecks.checkDuration(timeout.value());
      if (problem != null) {
        diagnostics.error(timeout.mark(), timeout.path(), problem);
      }
    }
    Located<String> payloadHeader = rule.string("outputPayloadToHeader");
    Boolean forward = rule.bool("forwardOriginalToken");
    return new JwtRule(issuer == null ? "" : issuer.value(), ResourceReader.values(audiences),
        uri == null ? null : uri.value(), jwks == null ? null : jwks.value(), fromHeaders,
        ResourceReader.values(fromParams), ResourceReader.values(fromCookies),
        payloadHeader == null ? null : payloadHeader.value(), claimsToHeaders, Boolean.TRUE.equals(forward),
        timeout == null ? null : timeout.value(), ResourceReader.values(spaceDelimited));
  }

  private void nonEmpty(List<Located<String>> values, String message) {
    ResourceReader.forEach(values, value -> {
      if (value.value().isEmpty()) {
        diagnostics.error(value.mark(), value.path(), message);
      }
    });
  }
}

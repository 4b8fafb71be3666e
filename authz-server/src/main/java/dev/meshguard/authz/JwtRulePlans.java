package dev.meshguard.authz;

import static dev.meshguard.authz.JwtVerifier.sanitizeAudience;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.nimbusds.jose.jwk.JWKSet;
import dev.meshguard.authz.JwtTokenExtractor.Location;
import dev.meshguard.core.config.Durations;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.Workload;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.RequestAuthentication;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A workload's {@code jwtRules} compiled into where to look for tokens and which providers may
 * verify them, cached per workload for the serving policy revision only.
 */
final class JwtRulePlans {

  private static final Set<String> SPACE_DELIMITED = Set.of("scope", "permission");

  /** One jwtRule, compiled. */
  record Provider(String ref, String issuer, Set<String> audiences, JWKSet inlineKeys, String jwksUri,
      Duration timeout, String payloadHeader, List<JwtRule.ClaimToHeader> claimHeaders, boolean forward,
      Set<String> spaceDelimited) {}

  /** A workload's rules: each location with the providers that read it, in rule order. */
  record Plan(Map<Location, List<Provider>> locations) {
    static final Plan NONE = new Plan(Map.of());
  }

  /** The plans of one policy revision; replaced as a whole when the engine changes. */
  private record Plans(PolicyEngine engine, Cache<Workload, Plan> byWorkload) {}

  private final JwtOptions options;
  /** Only the serving revision's plans are kept, so no old engine stays reachable from here. */
  private final AtomicReference<Plans> plans = new AtomicReference<>();

  JwtRulePlans(JwtOptions options) {
    this.options = options;
  }

  /** {@code workload}'s rules under {@code engine}, compiled at first use. */
  Plan planFor(PolicyEngine engine, Workload workload) {
    Plans current = plans.get();
    if (current == null || current.engine() != engine) {
      Plans fresh = new Plans(engine, Caffeine.newBuilder().maximumSize(PolicyEngine.DEFAULT_MAX_CACHED_WORKLOADS)
          .executor(Runnable::run).<Workload, Plan>build());
      // A request still holding the previous engine during a swap may replace the new one here;
      // the next request swaps back. Either way a plan is built from the engine the request uses.
      plans.set(fresh);
      current = fresh;
    }
    return current.byWorkload().get(workload, w -> plan(engine, w));
  }

  private Plan plan(PolicyEngine engine, Workload workload) {
    List<RequestAuthentication> applicable = engine.requestAuthentications(workload);
    Map<Location, List<Provider>> locations = new LinkedHashMap<>();
    for (RequestAuthentication ra : applicable) {
      for (int i = 0; i < ra.jwtRules().size(); i++) {
        JwtRule rule = ra.jwtRules().get(i);
        Provider provider = provider(ra.ref() + " jwtRules[" + i + "]", rule);
        List<Location> from = new ArrayList<>();
        rule.fromHeaders().forEach(h -> from.add(new Location.Header(h.name().toLowerCase(Locale.ROOT), h.prefix())));
        rule.fromParams().forEach(p -> from.add(new Location.Param(p)));
        rule.fromCookies().forEach(c -> from.add(new Location.Cookie(c)));
        if (from.isEmpty()) {
          // Envoy's JwtProvider defaults: Authorization with "Bearer ", then access_token.
          from.add(new Location.Header("authorization", "Bearer "));
          from.add(new Location.Param("access_token"));
        }
        for (Location l : from) {
          locations.computeIfAbsent(l, x -> new ArrayList<>()).add(provider);
        }
      }
    }
    if (locations.isEmpty()) {
      return Plan.NONE;
    }
    locations.replaceAll((l, list) -> List.copyOf(list));
    return new Plan(java.util.Collections.unmodifiableMap(locations));
  }

  private Provider provider(String ref, JwtRule rule) {
    Set<String> audiences = new LinkedHashSet<>();
    rule.audiences().forEach(a -> audiences.add(sanitizeAudience(a)));
    JWKSet inline = null;
    if (rule.jwks() != null && !rule.jwks().isEmpty()) {
      try {
        inline = JWKSet.parse(rule.jwks());
      } catch (ParseException e) {
        inline = new JWKSet(); // no valid key: tokens for this issuer fail (Envoy: JwksNoValidKeys)
      }
    }
    Duration timeout = options.jwksTimeout();
    if (rule.timeout() != null) {
      try {
        timeout = Durations.parse(rule.timeout());
      } catch (IllegalArgumentException e) {
        // validated at load; keep the default
      }
    }
    Set<String> spaceDelimited = new LinkedHashSet<>(SPACE_DELIMITED);
    spaceDelimited.addAll(rule.spaceDelimitedClaims());
    return new Provider(ref, rule.issuer(), Set.copyOf(audiences), inline, rule.jwksUri(), timeout,
        rule.outputPayloadToHeader() == null ? "" : rule.outputPayloadToHeader(), rule.outputClaimToHeaders(),
        rule.forwardOriginalToken(), Set.copyOf(spaceDelimited));
  }
}

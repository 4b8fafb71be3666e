package dev.meshguard.core.spiffe;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The mesh trust domain and its aliases, applied to policy principals the way Istio does
 * (istio/istio {@code pilot/pkg/security/trustdomain/bundle.go}, {@code ReplaceTrustDomainAliases}):
 * a principal whose trust domain is the mesh trust domain, one of its aliases, or the literal
 * {@code cluster.local} is expanded into one principal per trust domain in {mesh, aliases...};
 * a principal of a foreign trust domain, or whose trust domain is {@code *}, is kept as written
 * (see {@link #expand} for the pattern rules).
 */
public record TrustDomainAliases(String trustDomain, List<String> aliases) {

  /** Istio's default: {@code cluster.local}, no aliases. */
  public static final TrustDomainAliases DEFAULT = new TrustDomainAliases("cluster.local", List.of());

  /** The trust domain literal that always means "the local trust domain" in a policy. */
  public static final String ISTIO_DEFAULT_TRUST_DOMAIN = "cluster.local";

  public TrustDomainAliases {
    Objects.requireNonNull(trustDomain, "trustDomain");
    aliases = List.copyOf(aliases);
    String error = SpiffeId.validateTrustDomain(trustDomain);
    if (error != null) {
      throw new IllegalArgumentException("trustDomain \"" + trustDomain + "\": " + error);
    }
    for (String alias : aliases) {
      String aliasError = SpiffeId.validateTrustDomain(alias);
      if (aliasError != null) {
        throw new IllegalArgumentException("trust domain alias \"" + alias + "\": " + aliasError);
      }
    }
  }

  /** The mesh trust domain followed by its aliases, without duplicates. */
  public List<String> all() {
    Set<String> all = new LinkedHashSet<>();
    all.add(trustDomain);
    all.addAll(aliases);
    return List.copyOf(all);
  }

  /** True when {@code domain} names this mesh: the trust domain, an alias, or {@code cluster.local}. */
  public boolean isLocal(String domain) {
    return domain.equals(trustDomain) || domain.equals(ISTIO_DEFAULT_TRUST_DOMAIN) || aliases.contains(domain);
  }

  /**
   * Expands one policy principal (Istio form, {@code td/ns/x/sa/y}, possibly with {@code *}
   * patterns) into the principals it stands for in this mesh, exactly as istiod's
   * {@code ReplaceTrustDomainAliases} does: only a principal of exactly five {@code /}-separated
   * parts whose trust domain is not {@code *} is considered; its trust domain must be
   * {@code cluster.local} or loosely match one of {mesh, aliases...} (equal, or either side a
   * {@code *}, {@code prefix*} or {@code *suffix} pattern of the other); then it becomes one
   * principal per mesh trust domain, kept as written for a trust domain its own pattern matches
   * by suffix ({@code *-td} stays {@code *-td} for {@code old-td}, becomes {@code other/...} for
   * {@code other}).
   */
  public List<String> expand(String principal) {
    Objects.requireNonNull(principal, "principal");
    String[] parts = principal.split("/", -1);
    if (parts.length != 5 || parts[0].equals("*")) {
      return List.of(principal);
    }
    String domain = parts[0];
    List<String> all = all();
    if (!domain.equals(ISTIO_DEFAULT_TRUST_DOMAIN) && !looselyMatchesAny(domain, all)) {
      return List.of(principal);
    }
    String rest = principal.substring(domain.length());
    Set<String> expanded = new LinkedHashSet<>();
    for (String td : all) {
      expanded.add(suffixPatternMatches(td, domain) ? principal : td + rest);
    }
    return List.copyOf(expanded);
  }

  // istiod's stringMatch (pilot/pkg/security/trustdomain/util.go): loose in both directions.
  private static boolean looselyMatchesAny(String domain, List<String> trustDomains) {
    for (String td : trustDomains) {
      if (domain.equals(td) || td.equals("*") || prefixPatternMatches(domain, td) || prefixPatternMatches(td, domain)
          || suffixPatternMatches(domain, td) || suffixPatternMatches(td, domain)) {
        return true;
      }
    }
    return false;
  }

  private static boolean prefixPatternMatches(String value, String pattern) {
    return pattern.endsWith("*") && value.startsWith(pattern.substring(0, pattern.length() - 1));
  }

  private static boolean suffixPatternMatches(String value, String pattern) {
    return pattern.startsWith("*") && value.endsWith(pattern.substring(1));
  }

  /**
   * The same identity named in the mesh trust domain when it comes from an alias. Unlike
   * {@link #expand}, the {@code cluster.local} literal is not special here: it only has that
   * meaning in policies, not in certificates.
   */
  public SpiffeId canonical(SpiffeId id) {
    return aliases.contains(id.trustDomain()) ? id.withTrustDomain(trustDomain) : id;
  }
}

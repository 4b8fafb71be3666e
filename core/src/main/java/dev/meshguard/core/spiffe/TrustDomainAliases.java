package dev.meshguard.core.spiffe;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The mesh trust domain and its aliases, applied to policy principals the way Istio does
 * (istio/istio {@code pilot/pkg/security/trustdomain/bundle.go}, {@code ReplaceTrustDomainAliases}):
 * a principal whose trust domain is the mesh trust domain, one of its aliases, or the literal
 * {@code cluster.local} is expanded into one principal per trust domain in {mesh, aliases...};
 * a principal of a foreign trust domain, and any principal starting with {@code *}, is kept as
 * written.
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
   * Expands one policy principal (Istio form, {@code td/ns/x/sa/y}, possibly with a leading or
   * trailing {@code *}) into the principals it stands for in this mesh.
   */
  public List<String> expand(String principal) {
    Objects.requireNonNull(principal, "principal");
    if (principal.startsWith("*")) {
      return List.of(principal);
    }
    int slash = principal.indexOf('/');
    String domain = slash < 0 ? principal : principal.substring(0, slash);
    String rest = slash < 0 ? "" : principal.substring(slash);
    if (!isLocal(domain)) {
      return List.of(principal);
    }
    List<String> expanded = new ArrayList<>();
    for (String td : all()) {
      expanded.add(td + rest);
    }
    return List.copyOf(expanded);
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

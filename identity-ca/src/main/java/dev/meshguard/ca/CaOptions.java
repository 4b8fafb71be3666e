package dev.meshguard.ca;

import dev.meshguard.core.spiffe.SpiffeId;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Issuance settings of a {@link CertificateAuthority}; immutable, validated on construction.
 *
 * @param defaultTtl the leaf lifetime when a request asks for none (or for {@code <= 0}), as
 *     Istio's {@code validity_duration}
 * @param maxTtl the longest leaf lifetime; a request above it is refused (istiod's TTLError)
 * @param backdate how far {@code notBefore} is set before now, so small clock skew between
 *     hosts does not make a fresh SVID "not yet valid" (istiod 2 min, SPIRE 10 s)
 * @param caValidity the lifetime of a self-created root
 * @param authorizedDnsNames DNS SANs a given SPIFFE ID may ask for besides its SPIFFE ID;
 *     every other identity gets none
 */
public record CaOptions(Duration defaultTtl, Duration maxTtl, Duration backdate, Duration caValidity,
    Map<SpiffeId, Set<String>> authorizedDnsNames) {

  /** Istio's {@code DEFAULT_WORKLOAD_CERT_TTL}. */
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);
  /** Istio's {@code MAX_WORKLOAD_CERT_TTL}. */
  public static final Duration DEFAULT_MAX_TTL = Duration.ofDays(90);
  public static final Duration DEFAULT_BACKDATE = Duration.ofMinutes(1);
  /** Istio's {@code CITADEL_SELF_SIGNED_CA_CERT_TTL}. */
  public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(3650);

  public CaOptions {
    requirePositive("defaultTtl", defaultTtl);
    requirePositive("maxTtl", maxTtl);
    requirePositive("caValidity", caValidity);
    Objects.requireNonNull(backdate, "backdate");
    if (backdate.isNegative()) {
      throw new IllegalArgumentException("backdate must not be negative: " + backdate);
    }
    if (defaultTtl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("defaultTtl " + defaultTtl + " is longer than maxTtl " + maxTtl);
    }
    // Sorted copies: equal options compare equal whatever order they were given in.
    TreeMap<SpiffeId, Set<String>> names = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
    Objects.requireNonNull(authorizedDnsNames, "authorizedDnsNames").forEach(
        (id, dns) -> names.put(id, Set.copyOf(new TreeSet<>(dns))));
    authorizedDnsNames = java.util.Collections.unmodifiableMap(names);
  }

  /** The defaults: 24h leaves, 90 days at most, 1 minute back-dating, 10-year roots, no extra names. */
  public static CaOptions defaults() {
    return new CaOptions(DEFAULT_TTL, DEFAULT_MAX_TTL, DEFAULT_BACKDATE, DEFAULT_CA_VALIDITY, Map.of());
  }

  public CaOptions withTtls(Duration defaultTtl, Duration maxTtl) {
    return new CaOptions(defaultTtl, maxTtl, backdate, caValidity, authorizedDnsNames);
  }

  public CaOptions withBackdate(Duration backdate) {
    return new CaOptions(defaultTtl, maxTtl, backdate, caValidity, authorizedDnsNames);
  }

  public CaOptions withCaValidity(Duration caValidity) {
    return new CaOptions(defaultTtl, maxTtl, backdate, caValidity, authorizedDnsNames);
  }

  public CaOptions withAuthorizedDnsNames(Map<SpiffeId, Set<String>> authorizedDnsNames) {
    return new CaOptions(defaultTtl, maxTtl, backdate, caValidity, authorizedDnsNames);
  }

  Set<String> dnsNamesFor(SpiffeId id) {
    return authorizedDnsNames.getOrDefault(id, Set.of());
  }

  private static void requirePositive(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive: " + value);
    }
  }
}

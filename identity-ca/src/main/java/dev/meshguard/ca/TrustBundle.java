package dev.meshguard.ca;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One immutable state of a trust domain's authorities (a {@link RootRotation} snapshot): every
 * authority published in the bundle, in publication order, and the one that signs now.
 *
 * @param trustDomain the trust domain
 * @param sequence {@code spiffe_sequence}: increases with every change of the published set
 * @param authorities the published authorities, oldest first; contains {@code active}
 * @param active the authority that signs X.509-SVIDs and JWT-SVIDs now
 */
public record TrustBundle(String trustDomain, long sequence, List<Authority> authorities, Authority active) {

  public TrustBundle {
    Objects.requireNonNull(trustDomain, "trustDomain");
    authorities = List.copyOf(authorities);
    Objects.requireNonNull(active, "active");
    if (!authorities.contains(active)) {
      throw new IllegalArgumentException("the active authority must be published");
    }
  }

  /**
   * An X.509 CA with its JWT signing key, and when it entered the bundle, started signing,
   * stopped signing and leaves the bundle (SPIRE's "slot").
   *
   * @param ca the X.509 authority
   * @param jwtKey the JWT-SVID signing key that rotates with it
   * @param publishedAt when it entered the bundle
   * @param activeFrom when it signs from (at least the lead time after {@code publishedAt} for a
   *     rotated root)
   * @param retiredAt when it stopped signing, or null while it has not
   * @param dropAt when it leaves the bundle (every SVID it signed has expired by then), or null
   *     while it has not retired
   */
  public record Authority(CertificateAuthority ca, JwtSigningKey jwtKey, Instant publishedAt, Instant activeFrom,
      Instant retiredAt, Instant dropAt) {
    public Authority {
      Objects.requireNonNull(ca, "ca");
      Objects.requireNonNull(jwtKey, "jwtKey");
      Objects.requireNonNull(publishedAt, "publishedAt");
      Objects.requireNonNull(activeFrom, "activeFrom");
      if ((retiredAt == null) != (dropAt == null)) {
        throw new IllegalArgumentException("retiredAt and dropAt are set together");
      }
    }

    Authority retire(Instant at, Instant drop) {
      return new Authority(ca, jwtKey, publishedAt, activeFrom, at, drop);
    }

    /** The notAfter of the certificate this authority signs with. */
    public Instant signingNotAfter() {
      return ca.signingCertificate().getNotAfter().toInstant();
    }
  }

  /** The CA certificates to trust: the roots of every published authority, without duplicates, oldest first. */
  public List<X509Certificate> x509Authorities() {
    Set<X509Certificate> roots = new LinkedHashSet<>();
    for (Authority authority : authorities) {
      roots.addAll(authority.ca().roots());
    }
    return List.copyOf(roots);
  }

  /** The JWT-SVID keys to trust, oldest first. */
  public List<JwtSigningKey> jwtAuthorities() {
    List<JwtSigningKey> keys = new ArrayList<>(authorities.size());
    for (Authority authority : authorities) {
      keys.add(authority.jwtKey());
    }
    return List.copyOf(keys);
  }

  /** The JWT key with {@code kid}, or null. */
  public JwtSigningKey jwtAuthority(String kid) {
    for (Authority authority : authorities) {
      if (authority.jwtKey().keyId().equals(kid)) {
        return authority.jwtKey();
      }
    }
    return null;
  }

  /** The SPIFFE bundle JWK Set: x509-svid keys, jwt-svid keys with kid, sequence and refresh hint. */
  public String toJson(Duration refreshHint) {
    return SpiffeBundle.toJson(x509Authorities(), jwtAuthorities(), sequence, refreshHint);
  }
}

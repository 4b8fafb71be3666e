package dev.meshguard.core.tls;

import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/**
 * The SPIFFE ID of an X.509-SVID leaf (spiffe/spiffe {@code standards/X509-SVID.md} §2): its one
 * URI SAN. A leaf with several URI SANs is rejected, as the standard requires of validators and
 * as grpc-java's {@code SpiffeUtil.extractSpiffeId} does; so is a leaf whose ID is a trust
 * domain's own ({@code spiffe://td}), which only CA certificates may carry.
 */
final class SvidIds {

  private static final int URI_SAN = 6;

  private SvidIds() {}

  /** @throws CertificateException whose message names the rule the leaf breaks */
  static SpiffeId of(X509Certificate leaf) throws CertificateException {
    Collection<List<?>> names;
    try {
      names = leaf.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      throw new CertificateException("certificate has an unreadable subject alternative name extension", e);
    }
    String uri = null;
    int uris = 0;
    if (names != null) {
      for (List<?> name : names) {
        if (name.size() == 2 && name.get(0) instanceof Integer type && type == URI_SAN) {
          uris++;
          uri = String.valueOf(name.get(1));
        }
      }
    }
    if (uris == 0) {
      throw new CertificateException("certificate has no URI SAN, so no SPIFFE ID");
    }
    if (uris > 1) {
      throw new CertificateException("certificate has " + uris + " URI SANs; an X.509-SVID has exactly one");
    }
    SpiffeId id;
    try {
      id = SpiffeId.parse(uri);
    } catch (InvalidSpiffeIdException e) {
      throw new CertificateException("certificate URI SAN is not a valid SPIFFE ID: " + e.getMessage());
    }
    if (id.isTrustDomainId()) {
      throw new CertificateException("certificate SPIFFE ID " + id + " names a trust domain, not a workload");
    }
    return id;
  }
}

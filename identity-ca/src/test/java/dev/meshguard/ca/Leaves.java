package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;

/** Field-by-field assertions on an issued X.509-SVID, read through the JDK's X509Certificate. */
final class Leaves {
  static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private Leaves() {}

  static void assertSvid(X509Certificate leaf, X509Certificate issuer, String spiffeId, boolean rsa) throws Exception {
    assertThat(leaf.getVersion()).isEqualTo(3);
    assertThat(leaf.getSubjectX500Principal().getEncoded()).hasSize(2); // an empty SEQUENCE
    assertThat(leaf.getIssuerX500Principal()).isEqualTo(issuer.getSubjectX500Principal());
    // One SAN, the URI, in a critical extension.
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, spiffeId));
    assertThat(leaf.getCriticalExtensionOIDs()).contains("2.5.29.17", "2.5.29.19", "2.5.29.15");
    assertThat(leaf.getNonCriticalExtensionOIDs()).containsExactlyInAnyOrder("2.5.29.37", "2.5.29.35");
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    boolean[] ku = leaf.getKeyUsage();
    assertThat(ku[0]).as("digitalSignature").isTrue();
    assertThat(ku[2]).as("keyEncipherment").isEqualTo(rsa);
    assertThat(ku[1] || ku[3] || ku[4] || ku[5] || ku[6]).as("no other usage").isFalse();
    assertThat(leaf.getExtendedKeyUsage()).containsExactly(SERVER_AUTH, CLIENT_AUTH);
    byte[] aki = AuthorityKeyIdentifier.getInstance(
        ASN1OctetString.getInstance(leaf.getExtensionValue("2.5.29.35")).getOctets()).getKeyIdentifier();
    byte[] ski = SubjectKeyIdentifier.getInstance(
        ASN1OctetString.getInstance(issuer.getExtensionValue("2.5.29.14")).getOctets()).getKeyIdentifier();
    assertThat(aki).isEqualTo(ski);
    assertThat(leaf.getSerialNumber().signum()).isPositive();
    assertThat(leaf.getSerialNumber().toByteArray().length).isLessThanOrEqualTo(20);
    leaf.verify(issuer.getPublicKey());
  }
}

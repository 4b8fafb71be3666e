package dev.meshguard.testkit.tls;

/** Key types the TLS fixture issues; both are FIPS-approved, so fixtures work in approved-only JVMs. */
public enum KeyType {
  /** ECDSA on NIST P-256, signed with SHA256withECDSA. */
  EC_P256("EC", "SHA256withECDSA"),
  /** RSA 2048 bits, signed with SHA256withRSA. */
  RSA_2048("RSA", "SHA256withRSA");

  private final String jcaAlgorithm;
  private final String signatureAlgorithm;

  KeyType(String jcaAlgorithm, String signatureAlgorithm) {
    this.jcaAlgorithm = jcaAlgorithm;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /** The JCA key algorithm name, {@code EC} or {@code RSA}. */
  public String jcaAlgorithm() {
    return jcaAlgorithm;
  }

  /** The signature algorithm a CA of this key type signs with. */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }
}

package dev.meshguard.core.crypto;

import dev.meshguard.core.config.ConfigException;
import java.security.PublicKey;
import java.security.interfaces.EdECKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.nist.NISTNamedCurves;
import org.bouncycastle.asn1.sec.SECNamedCurves;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * The key types meshguard generates and accepts: ECDSA on NIST P-256 (the default) or P-384, and
 * RSA with 2048, 3072 or 4096 bits. All are FIPS-approved; other curves the FIPS module would
 * accept (secp256k1, P-521) are left out on purpose, since SPIFFE clients and Envoy do not
 * expect them (identity-ca.md §8).
 */
public enum KeyAlgorithm {
  ECDSA_P256("ecdsa-p256", "EC", "secp256r1", 256, "SHA256withECDSA"),
  ECDSA_P384("ecdsa-p384", "EC", "secp384r1", 384, "SHA384withECDSA"),
  RSA_2048("rsa-2048", "RSA", null, 2048, "SHA256withRSA"),
  RSA_3072("rsa-3072", "RSA", null, 3072, "SHA256withRSA"),
  RSA_4096("rsa-4096", "RSA", null, 4096, "SHA256withRSA");

  /** ECDSA P-256: small keys, fast handshakes, what istiod and SPIRE issue by default. */
  public static final KeyAlgorithm DEFAULT = ECDSA_P256;

  /** The config names, in declaration order, for error messages. */
  static final List<String> CONFIG_NAMES = Arrays.stream(values()).map(KeyAlgorithm::configName).toList();

  private final String configName;
  private final String jcaAlgorithm;
  private final String curve;
  private final int bits;
  private final String signatureAlgorithm;

  KeyAlgorithm(String configName, String jcaAlgorithm, String curve, int bits, String signatureAlgorithm) {
    this.configName = configName;
    this.jcaAlgorithm = jcaAlgorithm;
    this.curve = curve;
    this.bits = bits;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /**
   * Parses a config value such as {@code ecdsa-p256} or {@code rsa-2048} (case-insensitive).
   *
   * @throws ConfigException naming {@code setting}, the value, why it is refused and the choices
   */
  public static KeyAlgorithm parse(String setting, String value) throws ConfigException {
    for (KeyAlgorithm algorithm : values()) {
      if (algorithm.configName.equalsIgnoreCase(value)) {
        return algorithm;
      }
    }
    ApprovedAlgorithms.requireApproved(setting, value);
    // requireApproved accepted it, so it is an approved signature or digest name, not a key.
    throw ConfigException.forSetting(setting, "\"" + value + "\" is not a key algorithm; use one of "
        + String.join(", ", CONFIG_NAMES));
  }

  /**
   * The algorithm of an existing key (a certificate's, a CSR's), or empty when the key is of any
   * other type, size or curve — which meshguard must then refuse itself: BC-FIPS verifies
   * signatures made with weak keys even in approved-only mode (identity-ca.md §6).
   */
  public static Optional<KeyAlgorithm> of(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      int size = rsa.getModulus().bitLength();
      return Arrays.stream(values()).filter(a -> a.curve == null && a.bits == size).findFirst();
    }
    ASN1ObjectIdentifier curveOid = namedCurve(key);
    if (curveOid == null) {
      return Optional.empty();
    }
    if (curveOid.equals(SECObjectIdentifiers.secp256r1)) {
      return Optional.of(ECDSA_P256);
    }
    if (curveOid.equals(SECObjectIdentifiers.secp384r1)) {
      return Optional.of(ECDSA_P384);
    }
    return Optional.empty();
  }

  /** A short description of any key for messages: {@code EC P-256}, {@code EC secp256k1}, {@code RSA 1024}, {@code Ed25519}. */
  public static String describe(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      return "RSA " + rsa.getModulus().bitLength();
    }
    ASN1ObjectIdentifier curveOid = namedCurve(key);
    if (curveOid != null) {
      // NIST names (P-256) where they exist, as FIPS documents use them; else SEC (secp256k1).
      String name = NISTNamedCurves.getName(curveOid);
      if (name == null) {
        name = SECNamedCurves.getName(curveOid);
      }
      if (name == null) {
        name = ECNamedCurveTable.getName(curveOid);
      }
      return "EC " + (name != null ? name : curveOid.getId());
    }
    if (key instanceof EdECKey ed) {
      return ed.getParams().getName();
    }
    return key.getAlgorithm();
  }

  private static ASN1ObjectIdentifier namedCurve(PublicKey key) {
    if (!"EC".equals(key.getAlgorithm()) && !"ECDSA".equals(key.getAlgorithm())) {
      return null;
    }
    try {
      SubjectPublicKeyInfo info = SubjectPublicKeyInfo.getInstance(key.getEncoded());
      if (!X9ObjectIdentifiers.id_ecPublicKey.equals(info.getAlgorithm().getAlgorithm())) {
        return null;
      }
      // Explicit curve parameters (not a named curve) are not supported by TLS 1.3 or by us.
      return info.getAlgorithm().getParameters() instanceof ASN1ObjectIdentifier oid ? oid : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The config name, e.g. {@code ecdsa-p256}. */
  public String configName() {
    return configName;
  }

  /** The JCA key algorithm, {@code EC} or {@code RSA}. */
  public String jcaAlgorithm() {
    return jcaAlgorithm;
  }

  /** Key size in bits (the curve's field size for EC). */
  public int bits() {
    return bits;
  }

  /** The signature algorithm meshguard signs with when a key of this type signs. */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }

  /** Parameters for {@code KeyPairGenerator.initialize}; null for RSA, which takes {@link #bits()}. */
  AlgorithmParameterSpec generatorSpec() {
    return curve == null ? null : new ECGenParameterSpec(curve);
  }

  @Override
  public String toString() {
    return configName;
  }
}

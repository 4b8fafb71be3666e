package dev.meshguard.testkit.tls;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.jcajce.provider.BouncyCastleFipsProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * Which JCA provider the fixture uses. In a JVM in Bouncy Castle approved-only mode, everything
 * goes through the BCFIPS provider explicitly (the one registered, else a private instance):
 * that is the only way the fixture is guaranteed to stay inside the FIPS module. Otherwise the
 * JDK's own providers are used, which start faster and are what a default-mode server uses.
 *
 * <p>The fixture never calls {@code CryptoServicesRegistrar.setSecureRandom}: that is the
 * application's decision (and registering a plain JCA {@code SecureRandom} there makes BCFIPS
 * refuse every key generation in approved-only mode).
 */
final class FixtureCrypto {

  private static final FixtureCrypto INSTANCE = new FixtureCrypto();

  /** Null when the JDK's default provider order is used. */
  private final Provider provider;
  private final SecureRandom random;

  private FixtureCrypto() {
    if (CryptoServicesRegistrar.isInApprovedOnlyMode()) {
      Provider registered = Security.getProvider("BCFIPS");
      provider = registered != null ? registered : new BouncyCastleFipsProvider();
      try {
        random = SecureRandom.getInstance("DEFAULT", provider);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("BCFIPS has no DEFAULT DRBG", e);
      }
    } else {
      provider = null;
      random = new SecureRandom();
    }
  }

  static FixtureCrypto get() {
    return INSTANCE;
  }

  SecureRandom random() {
    return random;
  }

  KeyPair generate(KeyType type) {
    try {
      KeyPairGenerator generator = provider == null
          ? KeyPairGenerator.getInstance(type.jcaAlgorithm())
          : KeyPairGenerator.getInstance(type.jcaAlgorithm(), provider);
      switch (type) {
        case EC_P256 -> generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        case RSA_2048 -> generator.initialize(2048, random);
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a " + type + " key", e);
    }
  }

  ContentSigner signer(KeyType issuerKeyType, PrivateKey issuerKey) {
    JcaContentSignerBuilder builder = new JcaContentSignerBuilder(issuerKeyType.signatureAlgorithm())
        .setSecureRandom(random);
    if (provider != null) {
      builder.setProvider(provider);
    }
    try {
      return builder.build(issuerKey);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException("cannot sign with " + issuerKeyType.signatureAlgorithm(), e);
    }
  }

  /** Key identifiers from SHA-256 (RFC 7093 §2 method 1) rather than SHA-1. */
  JcaX509ExtensionUtils extensionUtils() {
    JcaDigestCalculatorProviderBuilder builder = new JcaDigestCalculatorProviderBuilder();
    if (provider != null) {
      builder.setProvider(provider);
    }
    try {
      return new JcaX509ExtensionUtils(
          builder.build().get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256)));
    } catch (OperatorCreationException e) {
      throw new IllegalStateException("no SHA-256", e);
    }
  }

  X509Certificate toCertificate(X509CertificateHolder holder) {
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    if (provider != null) {
      converter.setProvider(provider);
    }
    try {
      return converter.getCertificate(holder);
    } catch (java.security.cert.CertificateException e) {
      throw new IllegalStateException("cannot convert a certificate the fixture built", e);
    }
  }
}

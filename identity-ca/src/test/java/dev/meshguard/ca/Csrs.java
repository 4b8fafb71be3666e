package dev.meshguard.ca;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Builds PKCS#10 requests at test time with bcpkix, good and bad: any key, signature algorithm,
 * SANs, subject and extension request. Uses the JVM's default providers, so in a default-mode
 * test JVM it can make what FIPS mode would refuse to make (RSA-1024 keys, SHA-1 signatures).
 */
final class Csrs {
  private KeyPair keyPair;
  private String signatureAlgorithm;
  private final List<GeneralName> names = new ArrayList<>();
  private X500Name subject = new X500Name(new org.bouncycastle.asn1.x500.RDN[0]);
  private boolean caRequest;

  private Csrs(KeyPair keyPair, String signatureAlgorithm) {
    this.keyPair = keyPair;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  static Csrs ecP256() {
    return new Csrs(ec("secp256r1"), "SHA256withECDSA");
  }

  static Csrs of(KeyPair keyPair, String signatureAlgorithm) {
    return new Csrs(keyPair, signatureAlgorithm);
  }

  static KeyPair ec(String curve) {
    try {
      // The JDK dropped secp256k1; BCFIPS (installed last in default mode) still has it.
      KeyPairGenerator generator = curve.equals("secp256k1")
          ? KeyPairGenerator.getInstance("EC", "BCFIPS") : KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(curve));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair rsa(int bits) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(bits);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair generate(String algorithm) {
    try {
      return KeyPairGenerator.getInstance(algorithm).generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  KeyPair keyPair() {
    return keyPair;
  }

  Csrs uri(String uri) {
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
    return this;
  }

  Csrs dns(String dns) {
    names.add(new GeneralName(GeneralName.dNSName, dns));
    return this;
  }

  Csrs ip(String ip) {
    names.add(new GeneralName(GeneralName.iPAddress, ip));
    return this;
  }

  Csrs email(String email) {
    names.add(new GeneralName(GeneralName.rfc822Name, email));
    return this;
  }

  Csrs subject(String dn) {
    subject = new X500Name(dn);
    return this;
  }

  Csrs caRequest() {
    caRequest = true;
    return this;
  }

  byte[] der() {
    try {
      JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(subject, keyPair.getPublic());
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      if (!names.isEmpty()) {
        extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      if (caRequest) {
        extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      }
      if (!extensions.isEmpty()) {
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      }
      JcaContentSignerBuilder signer = new JcaContentSignerBuilder(signatureAlgorithm);
      if (keyPair.getPrivate().getClass().getName().startsWith("org.bouncycastle.")) {
        signer.setProvider("BCFIPS"); // keys only BCFIPS can make (secp256k1) only it can sign with
      }
      PKCS10CertificationRequest request = builder.build(signer.build(keyPair.getPrivate()));
      return request.getEncoded();
    } catch (IOException | OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }

  byte[] pem() {
    return PemText.block("CERTIFICATE REQUEST", der()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** The DER with the last byte of the signature flipped. */
  byte[] corruptedSignature() {
    byte[] der = der();
    der[der.length - 1] ^= 0x01;
    return der;
  }
}

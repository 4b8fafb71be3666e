package dev.meshguard.ca.server;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * PEM CSRs as istio-agent sends them: an empty subject and one URI SAN (its SPIFFE ID), with an
 * ECDSA P-256 key ({@code ECC_SIGNATURE_ALGORITHM=ECDSA}). The key pair is kept, so a test can
 * use the issued certificate as a client certificate.
 */
record TestCsrs(KeyPair keyPair, String pem) {

  static TestCsrs ecP256(String... uris) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keyPair = generator.generateKeyPair();
      var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
          keyPair.getPublic());
      List<GeneralName> names = new ArrayList<>();
      for (String uri : uris) {
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      }
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      byte[] der = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate())).getEncoded();
      return new TestCsrs(keyPair, "-----BEGIN CERTIFICATE REQUEST-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END CERTIFICATE REQUEST-----\n");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The private key as PKCS#8 PEM. */
  String keyPem() {
    return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
        .encodeToString(keyPair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
  }
}

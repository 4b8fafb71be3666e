package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.PemFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plugged-in CA in Istio's layout whose signing certificate is an intermediate without a
 * SPIFFE ID (as made for istiod): cert-chain.pem holds the intermediate only or intermediate and
 * root, root-cert.pem the root; leaves chain leaf, intermediate, root.
 */
class PluggedInCaTest {
  static final String WEB = "spiffe://cluster.local/ns/default/sa/web";
  static Crypto crypto;

  @TempDir
  Path dir;

  final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T08:00:00Z"));

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  private X509Certificate intermediate(CertificateAuthority root, PrivateKey rootKey, KeyPair keyPair, Duration validity)
      throws Exception {
    Instant now = clock.now();
    X509Certificate rootCert = root.signingCertificate();
    var builder = new JcaX509v3CertificateBuilder(rootCert, java.math.BigInteger.valueOf(4242), Date.from(now),
        Date.from(now.plus(validity)), new X500Name("O=cluster.local,CN=Intermediate CA"), keyPair.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    builder.addExtension(Extension.subjectKeyIdentifier, false,
        new SubjectKeyIdentifier(CertificateAuthority.keyId(keyPair.getPublic())));
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKey)));
  }

  private Path plug(X509Certificate intermediate, KeyPair keyPair, X509Certificate root, boolean rootInChain)
      throws Exception {
    Path plugged = dir.resolve(rootInChain ? "with-root" : "without-root");
    Files.createDirectories(plugged);
    Files.writeString(plugged.resolve("ca-cert.pem"), PemText.certificate(intermediate));
    Files.writeString(plugged.resolve("ca-key.pem"), PemText.block("PRIVATE KEY", keyPair.getPrivate().getEncoded()));
    Files.writeString(plugged.resolve("cert-chain.pem"),
        PemText.certificate(intermediate) + (rootInChain ? PemText.certificate(root) : ""));
    Files.writeString(plugged.resolve("root-cert.pem"), PemText.certificate(root));
    return plugged;
  }

  @Test
  void issuesUnderAnIntermediateWithTheRootLast() throws Exception {
    CertificateAuthority root = CertificateAuthority.init(crypto, clock, dir.resolve("root"), "cluster.local",
        KeyAlgorithm.ECDSA_P384, CaOptions.defaults());
    PrivateKey rootKey = PemFiles.readPrivateKey(crypto, dir.resolve("root/ca-key.pem"));
    KeyPair keyPair = Csrs.ec("secp256r1");
    X509Certificate intermediate = intermediate(root, rootKey, keyPair, Duration.ofDays(365));
    for (boolean rootInChain : new boolean[] {true, false}) {
      Path plugged = plug(intermediate, keyPair, root.signingCertificate(), rootInChain);
      assertThatThrownBy(() -> CertificateAuthority.load(crypto, clock, plugged, null, CaOptions.defaults()))
          .hasMessageContaining("ca-cert.pem: has no SPIFFE ID URI SAN; give the trust domain explicitly");
      CertificateAuthority ca = CertificateAuthority.load(crypto, clock, plugged, "cluster.local", CaOptions.defaults());
      assertThat(ca.caChain()).containsExactly(intermediate, root.signingCertificate());
      assertThat(ca.roots()).containsExactly(root.signingCertificate());
      Issued issued = (Issued) ca.issueForCsrIdentity(Csrs.ecP256().uri(WEB).der(), null);
      assertThat(issued.chain()).containsExactly(issued.leaf(), intermediate, root.signingCertificate());
      Leaves.assertSvid(issued.leaf(), intermediate, WEB, false);
    }
  }

  @Test
  void refusesAChainThatDoesNotReachTheRoot() throws Exception {
    CertificateAuthority root = CertificateAuthority.init(crypto, clock, dir.resolve("root"), "cluster.local",
        KeyAlgorithm.DEFAULT, CaOptions.defaults());
    CertificateAuthority other = CertificateAuthority.init(crypto, clock, dir.resolve("other"), "cluster.local",
        KeyAlgorithm.DEFAULT, CaOptions.defaults());
    PrivateKey rootKey = PemFiles.readPrivateKey(crypto, dir.resolve("root/ca-key.pem"));
    KeyPair keyPair = Csrs.ec("secp256r1");
    Path plugged = plug(intermediate(root, rootKey, keyPair, Duration.ofDays(30)), keyPair, other.signingCertificate(), false);
    assertThatThrownBy(() -> CertificateAuthority.load(crypto, clock, plugged, "cluster.local", CaOptions.defaults()))
        .hasMessageContaining("cert-chain.pem: does not end at a root of root-cert.pem");
  }
}

package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.ca.IssueResult.Refused;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.ManualClock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The issuance tests again, in a JVM in Bouncy Castle approved-only mode (the "fips" fork). */
@Tag("fips")
class FipsIssuanceTest {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";
  static final Instant START = Instant.parse("2026-11-28T08:00:00Z");

  static Crypto crypto;

  @TempDir
  Path dir;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void leavesConformForEveryCaKeyType(KeyAlgorithm caKey) throws Exception {
    ManualClock clock = new ManualClock(START);
    CertificateAuthority ca = CertificateAuthority.init(crypto, clock, dir.resolve("ca"), "example.org", caKey,
        CaOptions.defaults());
    assertThat(ca.signingCertificate().getClass().getName()).startsWith("org.bouncycastle.");
    for (Csrs csr : List.of(Csrs.ecP256(), Csrs.of(Csrs.ec("secp384r1"), "SHA384withECDSA"),
        Csrs.of(Csrs.rsa(3072), "SHA256withRSA"))) {
      IssueResult result = ca.issue(csr.uri(WEB).pem(), SpiffeId.parse(WEB), Duration.ofHours(2));
      assertThat(result).isInstanceOf(Issued.class);
      Issued issued = (Issued) result;
      Leaves.assertSvid(issued.leaf(), ca.signingCertificate(), WEB, issued.keyAlgorithm().jcaAlgorithm().equals("RSA"));
      assertThat(issued.notAfter()).isEqualTo(START.plus(Duration.ofHours(2)));
    }
    CertificateAuthority loaded = CertificateAuthority.load(crypto, clock, dir.resolve("ca"), null, CaOptions.defaults());
    assertThat(loaded.issueForCsrIdentity(resource("p256.csr.pem"), null)).isInstanceOf(Issued.class);
  }

  /**
   * BC-FIPS verifies an RSA-1024 CSR's signature even in approved-only mode (identity-ca.md §6):
   * our own check is what refuses it. SHA-1 and Ed25519 CSRs are refused as well.
   */
  @Test
  void weakCsrsThatTheModuleWouldVerifyAreRefusedByPolicy() throws Exception {
    PKCS10CertificationRequest rsa1024 = new PKCS10CertificationRequest(pemBody(resource("rsa1024.csr.pem")));
    PublicKey weak = new JcaPKCS10CertificationRequest(rsa1024).setProvider("BCFIPS").getPublicKey();
    assertThat(crypto.verify("SHA256withRSA", weak, rsa1024.toASN1Structure().getCertificationRequestInfo().getEncoded(),
        rsa1024.getSignature())).as("the FIPS module verifies an RSA-1024 signature").isTrue();

    CertificateAuthority ca = CertificateAuthority.init(crypto, new ManualClock(START), dir.resolve("ca"), "example.org",
        KeyAlgorithm.DEFAULT, CaOptions.defaults());
    SpiffeId web = SpiffeId.parse(WEB);
    assertThat(ca.issue(resource("rsa1024.csr.pem"), web, null)).isEqualTo(new Refused(Refusal.invalid(
        "the CSR's key is RSA 1024, which is not allowed; use EC P-256, EC P-384, RSA 2048, RSA 3072 or RSA 4096")));
    assertThat(ca.issue(resource("sha1.csr.pem"), web, null)).isEqualTo(new Refused(Refusal.invalid(
        "the CSR is signed with SHA-1, which is disallowed (NIST SP 800-131A); sign it with SHA-256 or stronger")));
    assertThat(ca.issue(resource("ed25519.csr.pem"), web, null)).isEqualTo(new Refused(Refusal.invalid(
        "the CSR's signature algorithm Ed25519 is not allowed; use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512")));
    assertThat(ca.issue(resource("p256.csr.pem"), web, null)).isInstanceOf(Issued.class);
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = FipsIssuanceTest.class.getResourceAsStream("/csr/" + name)) {
      return in.readAllBytes();
    }
  }

  static byte[] pemBody(byte[] pem) {
    String text = new String(pem, java.nio.charset.StandardCharsets.US_ASCII);
    String body = text.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return java.util.Base64.getDecoder().decode(body);
  }
}

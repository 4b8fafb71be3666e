package dev.meshguard.ca;

import static dev.meshguard.ca.Refusal.Category.INVALID_ARGUMENT;
import static dev.meshguard.ca.Refusal.Category.PERMISSION_DENIED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.ca.IssueResult.Refused;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The table of CSRs the CA must refuse, built at test time in a default-mode JVM (so RSA-1024
 * keys and SHA-1 signatures can be made at all), each with its category and exact reason; none
 * returns a certificate. The caller is always {@link #WEB}, authenticated.
 */
class CsrRefusalTest {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  static CertificateAuthority ca;

  @BeforeAll
  static void createCa(@TempDir Path dir) throws ConfigException {
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    ca = CertificateAuthority.init(crypto, new ManualClock(), dir.resolve("ca"), "example.org",
        KeyAlgorithm.DEFAULT, CaOptions.defaults());
  }

  static Arguments row(String name, Supplier<byte[]> csr, Refusal.Category category, String reason) {
    return Arguments.of(name, csr, category, reason);
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        row("another identity", () -> Csrs.ecP256().uri("spiffe://example.org/ns/default/sa/admin").pem(), PERMISSION_DENIED,
            "the CSR asks for spiffe://example.org/ns/default/sa/admin but the caller is " + WEB),
        row("RSA-1024 key", () -> Csrs.of(Csrs.rsa(1024), "SHA256withRSA").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR's key is RSA 1024, which is not allowed; use EC P-256, EC P-384, RSA 2048, RSA 3072 or RSA 4096"),
        row("secp256k1 key", () -> Csrs.of(Csrs.ec("secp256k1"), "SHA256withECDSA").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR's key is EC secp256k1, which is not allowed; use EC P-256, EC P-384, RSA 2048, RSA 3072 or RSA 4096"),
        row("Ed25519 key", () -> Csrs.of(Csrs.generate("Ed25519"), "Ed25519").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR's signature algorithm Ed25519 is not allowed; use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512"),
        row("SHA-1 signature", () -> Csrs.of(Csrs.ec("secp256r1"), "SHA1withECDSA").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR is signed with SHA-1, which is disallowed (NIST SP 800-131A); sign it with SHA-256 or stronger"),
        row("SHA-1 RSA signature", () -> Csrs.of(Csrs.rsa(2048), "SHA1withRSA").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR is signed with SHA-1, which is disallowed (NIST SP 800-131A); sign it with SHA-256 or stronger"),
        row("extra DNS SAN", () -> Csrs.ecP256().uri(WEB).dns("web.example.org").pem(), PERMISSION_DENIED,
            "the CSR asks for the DNS name web.example.org, which is not configured for " + WEB),
        row("IP SAN", () -> Csrs.ecP256().uri(WEB).ip("10.0.0.1").pem(), INVALID_ARGUMENT,
            "the CSR asks for an IP address SAN; X.509-SVIDs from this CA carry none"),
        row("email SAN", () -> Csrs.ecP256().uri(WEB).email("web@example.org").pem(), INVALID_ARGUMENT,
            "the CSR asks for an email SAN; X.509-SVIDs from this CA carry none"),
        row("CN in the subject", () -> Csrs.ecP256().subject("CN=web").uri(WEB).pem(), INVALID_ARGUMENT,
            "the CSR's subject has a CN; X.509-SVIDs from this CA have an empty subject (the identity is the URI SAN)"),
        row("two URI SANs", () -> Csrs.ecP256().uri(WEB).uri("spiffe://example.org/ns/default/sa/web2").pem(), INVALID_ARGUMENT,
            "the CSR has 2 URI SANs; an X.509-SVID has exactly one, the SPIFFE ID"),
        row("no SAN", () -> Csrs.ecP256().pem(), INVALID_ARGUMENT,
            "the CSR has no subject alternative names; it needs exactly one URI SAN, the SPIFFE ID"),
        row("CA:TRUE request", () -> Csrs.ecP256().uri(WEB).caRequest().pem(), INVALID_ARGUMENT,
            "the CSR requests a CA certificate (basicConstraints cA=true); this CA issues only leaf SVIDs"),
        row("corrupted signature", () -> Csrs.ecP256().uri(WEB).corruptedSignature(), INVALID_ARGUMENT,
            "the CSR's signature does not verify with its own public key"),
        row("signature by another key", () -> {
              Csrs csr = Csrs.ecP256().uri(WEB);
              byte[] good = csr.der();
              byte[] other = Csrs.ecP256().uri(WEB).der();
              // Same structure, another key's signature: swap the trailing signature BIT STRINGs.
              return splice(good, other);
            }, INVALID_ARGUMENT, "the CSR's signature does not verify with its own public key"),
        row("malformed SPIFFE ID (uppercase trust domain)", () -> Csrs.ecP256().uri("spiffe://Example.org/ns/default/sa/web").pem(),
            INVALID_ARGUMENT, "the CSR's URI SAN is not a valid SPIFFE ID: "),
        row("malformed SPIFFE ID (http scheme)", () -> Csrs.ecP256().uri("https://example.org/ns/default/sa/web").pem(),
            INVALID_ARGUMENT, "the CSR's URI SAN is not a valid SPIFFE ID: "),
        row("SPIFFE ID over 2048 bytes", () -> Csrs.ecP256().uri("spiffe://example.org/" + "a".repeat(2100)).pem(),
            INVALID_ARGUMENT, "the CSR's URI SAN is not a valid SPIFFE ID: "),
        row("trust-domain ID (no path)", () -> Csrs.ecP256().uri("spiffe://example.org").pem(), INVALID_ARGUMENT,
            "the CSR's SPIFFE ID spiffe://example.org has no path; a leaf SVID's ID needs one (X509-SVID §2)"),
        row("garbage bytes", () -> "not a CSR at all".getBytes(StandardCharsets.US_ASCII), INVALID_ARGUMENT,
            "the CSR is not a PKCS#10 certificate request: "),
        row("a certificate in PEM", () -> PemText.certificate(ca.signingCertificate()).getBytes(StandardCharsets.US_ASCII),
            INVALID_ARGUMENT, "the PEM block is not a CERTIFICATE REQUEST"),
        row("oversized", () -> new byte[CsrPolicy.MAX_CSR_BYTES + 1], INVALID_ARGUMENT,
            "the CSR is 65537 bytes, more than the limit of 65536"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void refused(String name, Supplier<byte[]> csr, Refusal.Category category, String reason) throws Exception {
    IssueResult result = ca.issue(csr.get(), SpiffeId.parse(WEB), null);
    assertThat(result).isInstanceOf(Refused.class);
    Refusal refusal = ((Refused) result).refusal();
    assertThat(refusal.category()).isEqualTo(category);
    if (reason.endsWith(": ")) {
      assertThat(refusal.reason()).startsWith(reason);
    } else {
      assertThat(refusal.reason()).isEqualTo(reason);
    }
  }

  /** Offline issuance (no caller) refuses the same CSRs, except for "another identity". */
  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedOfflineToo(String name, Supplier<byte[]> csr, Refusal.Category category, String reason) {
    IssueResult result = ca.issueForCsrIdentity(csr.get(), null);
    if (name.equals("another identity")) {
      assertThat(result).isInstanceOf(IssueResult.Issued.class);
    } else {
      assertThat(result).isInstanceOf(Refused.class);
    }
  }

  /** Any bytes at all: a refusal (INVALID_ARGUMENT), never an exception. */
  @Property(tries = 300)
  void arbitraryBytesAreRefusedNotThrown(@ForAll byte[] bytes) throws Exception {
    if (ca == null) {
      createCa(java.nio.file.Files.createTempDirectory("ca-prop"));
    }
    IssueResult result = ca.issue(bytes, SpiffeId.parse(WEB), null);
    assertThat(result).isInstanceOf(Refused.class);
    assertThat(((Refused) result).refusal().category()).isEqualTo(INVALID_ARGUMENT);
  }

  /** {@code good} with the signature value of {@code other}: a well-formed CSR whose signature is not its key's. */
  static byte[] splice(byte[] good, byte[] other) {
    var goodRequest = org.bouncycastle.asn1.pkcs.CertificationRequest.getInstance(good);
    var otherRequest = org.bouncycastle.asn1.pkcs.CertificationRequest.getInstance(other);
    try {
      return new org.bouncycastle.asn1.pkcs.CertificationRequest(goodRequest.getCertificationRequestInfo(),
          goodRequest.getSignatureAlgorithm(), otherRequest.getSignature()).getEncoded();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

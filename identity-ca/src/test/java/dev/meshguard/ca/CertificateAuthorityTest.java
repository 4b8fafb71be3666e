package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.ca.IssueResult.Refused;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificateAuthorityTest {
  static final String TD = "example.org";
  static final String WEB = "spiffe://example.org/ns/default/sa/web";
  static final Instant START = Instant.parse("2026-11-28T08:00:00Z");

  static Crypto crypto;

  @TempDir
  Path dir;

  final ManualClock clock = new ManualClock(START);

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  CertificateAuthority init(KeyAlgorithm keyAlgorithm, CaOptions options) throws ConfigException {
    return CertificateAuthority.init(crypto, clock, dir.resolve("ca"), TD, keyAlgorithm, options);
  }

  static Issued issued(IssueResult result) {
    assertThat(result).isInstanceOf(Issued.class);
    return (Issued) result;
  }

  @Test
  void initWritesIstioLayoutWithAPrivateKeyFileAndASpiffeRoot() throws Exception {
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, CaOptions.defaults());
    Path caDir = dir.resolve("ca");
    assertThat(Files.getPosixFilePermissions(caDir.resolve("ca-key.pem")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.readString(caDir.resolve("ca-key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
    for (String name : List.of("ca-cert.pem", "cert-chain.pem", "root-cert.pem")) {
      assertThat(Files.readString(caDir.resolve(name))).isEqualTo(PemText.certificate(ca.signingCertificate()));
    }
    X509Certificate root = ca.signingCertificate();
    assertThat(root.getSubjectAlternativeNames()).containsExactly(List.of(6, "spiffe://example.org"));
    assertThat(root.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
    assertThat(root.getCriticalExtensionOIDs()).containsExactlyInAnyOrder("2.5.29.19", "2.5.29.15");
    assertThat(root.getKeyUsage()).containsExactly(false, false, false, false, false, true, true, false, false);
    assertThat(root.getExtensionValue("2.5.29.14")).isNotNull();
    assertThat(root.getNotBefore().toInstant()).isEqualTo(START.minus(CaOptions.DEFAULT_BACKDATE));
    assertThat(root.getNotAfter().toInstant()).isEqualTo(START.plus(CaOptions.DEFAULT_CA_VALIDITY));
    assertThat(root.getSigAlgName()).isEqualTo("SHA256withECDSA");
    root.verify(root.getPublicKey());
  }

  @Test
  void initRefusesToOverwriteACa() throws Exception {
    init(KeyAlgorithm.DEFAULT, CaOptions.defaults());
    byte[] key = Files.readAllBytes(dir.resolve("ca/ca-key.pem"));
    assertThatThrownBy(() -> init(KeyAlgorithm.DEFAULT, CaOptions.defaults()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ca-cert.pem: a CA exists already in")
        .hasMessageContaining("refusing to overwrite it");
    assertThat(Files.readAllBytes(dir.resolve("ca/ca-key.pem"))).isEqualTo(key);
  }

  @Test
  void initRefusesABadTrustDomain() {
    assertThatThrownBy(() -> CertificateAuthority.init(crypto, clock, dir, "Example.org", KeyAlgorithm.DEFAULT,
        CaOptions.defaults()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ca.trust_domain");
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void leavesConformToX509SvidForEveryCaAndLeafKeyType(KeyAlgorithm caKey) throws Exception {
    CertificateAuthority ca = init(caKey, CaOptions.defaults());
    assertThat(ca.signingCertificate().getSigAlgName()).isEqualTo(caKey.signatureAlgorithm());
    for (Csrs csr : List.of(Csrs.ecP256(), Csrs.of(Csrs.ec("secp384r1"), "SHA384withECDSA"),
        Csrs.of(Csrs.rsa(2048), "SHA256withRSA"))) {
      Issued issued = issued(ca.issue(csr.uri(WEB).pem(), SpiffeId.parse(WEB), Duration.ofHours(1)));
      X509Certificate leaf = issued.leaf();
      Leaves.assertSvid(leaf, ca.signingCertificate(), WEB, leaf.getPublicKey().getAlgorithm().equals("RSA"));
      assertThat(leaf.getPublicKey()).isEqualTo(csr.keyPair().getPublic());
      assertThat(issued.chain()).containsExactly(leaf, ca.signingCertificate());
      assertThat(leaf.getNotBefore().toInstant()).isEqualTo(START.minus(CaOptions.DEFAULT_BACKDATE));
      assertThat(leaf.getNotAfter().toInstant()).isEqualTo(START.plus(Duration.ofHours(1)));
      assertThat(leaf.getSigAlgName()).isEqualTo(caKey.signatureAlgorithm());
    }
  }

  @Test
  void loadReadsTheCaBackAndIssuesUnderIt() throws Exception {
    CertificateAuthority created = init(KeyAlgorithm.ECDSA_P384, CaOptions.defaults());
    CertificateAuthority loaded = CertificateAuthority.load(crypto, clock, dir.resolve("ca"), null, CaOptions.defaults());
    assertThat(loaded.trustDomain()).isEqualTo(TD);
    assertThat(loaded.signingCertificate()).isEqualTo(created.signingCertificate());
    assertThat(loaded.caChain()).containsExactly(created.signingCertificate());
    Issued issued = issued(loaded.issueForCsrIdentity(Csrs.ecP256().uri(WEB).der(), null));
    Leaves.assertSvid(issued.leaf(), created.signingCertificate(), WEB, false);
  }

  @Test
  void loadRefusesAKeyThatDoesNotMatchAndAnotherTrustDomain() throws Exception {
    init(KeyAlgorithm.DEFAULT, CaOptions.defaults());
    Path other = dir.resolve("other");
    CertificateAuthority.init(crypto, clock, other, TD, KeyAlgorithm.DEFAULT, CaOptions.defaults());
    Files.copy(other.resolve("ca-key.pem"), dir.resolve("ca/ca-key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> CertificateAuthority.load(crypto, clock, dir.resolve("ca"), null, CaOptions.defaults()))
        .hasMessageContaining("ca-key.pem: is not the private key of ca-cert.pem");
    assertThatThrownBy(() -> CertificateAuthority.load(crypto, clock, other, "other.org", CaOptions.defaults()))
        .hasMessageContaining("ca-cert.pem: is the CA of trust domain example.org, not of other.org");
  }

  @Test
  void ttlRules() throws Exception {
    CaOptions options = CaOptions.defaults().withTtls(Duration.ofHours(24), Duration.ofDays(90));
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, options);
    byte[] csr = Csrs.ecP256().uri(WEB).der();
    for (Duration asked : new Duration[] {null, Duration.ZERO, Duration.ofSeconds(-5)}) {
      assertThat(issued(ca.issueForCsrIdentity(csr, asked)).notAfter()).as("%s", asked).isEqualTo(START.plus(Duration.ofHours(24)));
    }
    assertThat(issued(ca.issueForCsrIdentity(csr, Duration.ofDays(90))).notAfter()).isEqualTo(START.plus(Duration.ofDays(90)));
    IssueResult over = ca.issueForCsrIdentity(csr, Duration.ofDays(90).plusSeconds(1));
    assertThat(over).isEqualTo(new Refused(new Refusal(Refusal.Category.INVALID_ARGUMENT,
        "the requested TTL PT2160H1S is longer than the maximum PT2160H")));
    // Time comes from the clock only.
    clock.advance(Duration.ofHours(5));
    Issued later = issued(ca.issueForCsrIdentity(csr, Duration.ofHours(2)));
    assertThat(later.leaf().getNotBefore().toInstant()).isEqualTo(START.plus(Duration.ofHours(5)).minus(CaOptions.DEFAULT_BACKDATE));
    assertThat(later.notAfter()).isEqualTo(START.plus(Duration.ofHours(7)));
  }

  @Test
  void notAfterIsClampedToTheIssuersAndAnExpiredCaIssuesNothing() throws Exception {
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, CaOptions.defaults().withCaValidity(Duration.ofDays(10)));
    Instant caNotAfter = ca.signingCertificate().getNotAfter().toInstant();
    byte[] csr = Csrs.ecP256().uri(WEB).der();
    clock.advance(Duration.ofDays(9));
    assertThat(issued(ca.issueForCsrIdentity(csr, Duration.ofDays(5))).notAfter()).isEqualTo(caNotAfter);
    clock.advance(Duration.ofDays(1));
    IssueResult expired = ca.issueForCsrIdentity(csr, null);
    assertThat(expired).isEqualTo(new Refused(new Refusal(Refusal.Category.INTERNAL,
        "the CA certificate expired at " + caNotAfter)));
  }

  @Test
  void configuredDnsNamesGoIntoTheLeafForThatIdentityOnly() throws Exception {
    CaOptions options = CaOptions.defaults().withAuthorizedDnsNames(Map.of(SpiffeId.parse(WEB), Set.of("web.default.svc")));
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, options);
    Issued issued = issued(ca.issueForCsrIdentity(Csrs.ecP256().uri(WEB).dns("web.default.svc").der(), null));
    assertThat(issued.leaf().getSubjectAlternativeNames())
        .containsExactly(List.of(6, WEB), List.of(2, "web.default.svc"));
    String api = "spiffe://example.org/ns/default/sa/api";
    assertThat(ca.issueForCsrIdentity(Csrs.ecP256().uri(api).dns("web.default.svc").der(), null))
        .isEqualTo(new Refused(Refusal.denied("the CSR asks for the DNS name web.default.svc, which is not configured for " + api)));
  }

  @Test
  void serialsAreRandomPositiveAndAtMostTwentyOctets() throws Exception {
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, CaOptions.defaults());
    byte[] csr = Csrs.ecP256().uri(WEB).der();
    java.util.Set<java.math.BigInteger> serials = new java.util.HashSet<>();
    for (int i = 0; i < 50; i++) {
      java.math.BigInteger serial = issued(ca.issueForCsrIdentity(csr, null)).serial();
      assertThat(serial.signum()).isPositive();
      assertThat(serial.toByteArray().length).isLessThanOrEqualTo(20);
      serials.add(serial);
    }
    assertThat(serials).hasSize(50);
  }

  @Test
  void noCallerIsUnauthenticated() throws Exception {
    CertificateAuthority ca = init(KeyAlgorithm.DEFAULT, CaOptions.defaults());
    assertThat(ca.issue(Csrs.ecP256().uri(WEB).der(), null, null))
        .isEqualTo(new Refused(new Refusal(Refusal.Category.UNAUTHENTICATED, "the caller is not authenticated")));
  }
}

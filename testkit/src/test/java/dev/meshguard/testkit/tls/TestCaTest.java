package dev.meshguard.testkit.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SignatureException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TestCaTest {

  @TempDir Path dir;

  @Test
  void caIsSelfSignedSpiffeTrustDomainCa() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    X509Certificate cert = ca.certificate();
    cert.verify(cert.getPublicKey());
    assertThat(cert.getBasicConstraints()).isGreaterThanOrEqualTo(0); // CA:TRUE
    assertThat(cert.getKeyUsage()[5]).as("keyCertSign").isTrue();
    assertThat(cert.getCriticalExtensionOIDs()).contains("2.5.29.15", "2.5.29.19");
    assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(6, "spiffe://cluster.local"));
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void leafCarriesOneSpiffeIdAndChainsToItsCaOnly(KeyType keyType) throws Exception {
    TestCa ca = TestCa.create("cluster.local", keyType);
    TestCa other = TestCa.create("cluster.local", keyType);
    TestCert leaf = ca.leaf("spiffe://cluster.local/ns/foo/sa/bar").keyType(keyType).issue();
    X509Certificate cert = leaf.certificate();

    cert.verify(ca.certificate().getPublicKey());
    assertThatThrownBy(() -> cert.verify(other.certificate().getPublicKey()))
        .isInstanceOf(SignatureException.class);
    cert.checkValidity();
    assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(6, "spiffe://cluster.local/ns/foo/sa/bar"));
    assertThat(cert.getBasicConstraints()).isEqualTo(-1);
    assertThat(cert.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo(keyType.jcaAlgorithm());
    assertThat(leaf.serial().signum()).isPositive();
    assertThat(leaf.chain()).containsExactly(cert, ca.certificate());
  }

  @Test
  void leafForAServerReachedByAddressAlsoCarriesThatIpAddress() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    X509Certificate cert = ca.leaf("spiffe://cluster.local/redis").ipAddress("127.0.0.1").issue().certificate();
    assertThat(cert.getSubjectAlternativeNames())
        .containsExactly(List.of(6, "spiffe://cluster.local/redis"), List.of(7, "127.0.0.1"));
  }

  @Test
  void expiredLeafIsExpired() {
    TestCert leaf = TestCa.create("td").leaf("spiffe://td/w").expired().issue();
    assertThatThrownBy(() -> leaf.certificate().checkValidity()).isInstanceOf(CertificateExpiredException.class);
  }

  @Test
  void writesPemFilesWithAPrivateKeyOnlyTheOwnerCanRead() throws Exception {
    TestCert leaf = TestCa.create("td").leaf("spiffe://td/w").issue();
    CertFiles files = leaf.writeTo(dir, "server");

    assertThat(Files.readString(files.certificate())).startsWith("-----BEGIN CERTIFICATE-----")
        .containsOnlyOnce("BEGIN CERTIFICATE");
    assertThat(Files.readString(files.chain()).split("BEGIN CERTIFICATE", -1)).hasSize(3);
    assertThat(Files.readString(files.key())).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.key()))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.certificate()))).isEqualTo("rw-r--r--");
    try (var listing = Files.list(dir)) {
      assertThat(listing.map(p -> p.getFileName().toString()))
          .as("no temporary files left behind").containsExactlyInAnyOrder("server.crt", "server-chain.crt", "server.key");
    }
  }

  @Test
  void traditionalKeyFormatsAreSec1AndPkcs1() throws Exception {
    TestCa ca = TestCa.create("td");
    Path ec = ca.leaf("spiffe://td/ec").issue().writeKey(dir.resolve("ec.key"), KeyFormat.TRADITIONAL);
    Path rsa = ca.leaf("spiffe://td/rsa").keyType(KeyType.RSA_2048).issue().writeKey(dir.resolve("rsa.key"), KeyFormat.TRADITIONAL);
    assertThat(Files.readString(ec)).startsWith("-----BEGIN EC PRIVATE KEY-----");
    assertThat(Files.readString(rsa)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    // A SEC1 key must name its curve, or nothing (OpenSSL included) can use it.
    try (var parser = new org.bouncycastle.openssl.PEMParser(Files.newBufferedReader(ec))) {
      var pair = (org.bouncycastle.openssl.PEMKeyPair) parser.readObject();
      assertThat(pair.getPrivateKeyInfo().getPrivateKeyAlgorithm().getParameters())
          .isEqualTo(org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp256r1);
    }
  }
}

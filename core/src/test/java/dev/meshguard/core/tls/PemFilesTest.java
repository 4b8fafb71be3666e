package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.testkit.tls.KeyFormat;
import dev.meshguard.testkit.tls.KeyType;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PemFilesTest {

  private static Crypto crypto;
  private static TestCa ca;
  private static TestCert ecLeaf;
  private static TestCert rsaLeaf;

  @TempDir Path dir;

  @BeforeAll
  static void setUp() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
    ca = TestCa.create("cluster.local");
    ecLeaf = ca.leaf("spiffe://cluster.local/ns/a/sa/ec").issue();
    rsaLeaf = ca.leaf("spiffe://cluster.local/ns/a/sa/rsa").keyType(KeyType.RSA_2048).issue();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"EC_P256, PKCS8", "EC_P256, TRADITIONAL", "RSA_2048, PKCS8", "RSA_2048, TRADITIONAL"})
  void readsPkcs8Sec1AndPkcs1Keys(KeyType type, KeyFormat format) throws Exception {
    TestCert leaf = type == KeyType.EC_P256 ? ecLeaf : rsaLeaf;
    Path file = leaf.writeKey(dir.resolve("key.pem"), format);
    PrivateKey key = PemFiles.readPrivateKey(crypto, file);
    assertThat(key.getAlgorithm()).isEqualTo(type.jcaAlgorithm());
    assertBelongsTo(key, leaf);
  }

  /** Same key, whatever its encoding: it signs what the certificate's public key verifies. */
  private static void assertBelongsTo(PrivateKey key, TestCert leaf) throws Exception {
    String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    byte[] data = {1, 2, 3};
    byte[] signature = crypto.sign("test", algorithm, key, data);
    assertThat(crypto.verify(algorithm, leaf.certificate().getPublicKey(), data, signature)).isTrue();
  }

  @Test
  void readsAChainInFileOrder() throws Exception {
    Path file = ecLeaf.writeChain(dir.resolve("chain.pem"));
    List<X509Certificate> chain = PemFiles.readCertificates(crypto, file);
    assertThat(chain).containsExactly(ecLeaf.certificate(), ca.certificate());
  }

  @Test
  void ignoresCertificatesAndEcParametersBesideAKey() throws Exception {
    String cert = Files.readString(ecLeaf.writeCertificate(dir.resolve("c.pem")));
    String key = Files.readString(ecLeaf.writeKey(dir.resolve("k.pem"), KeyFormat.TRADITIONAL));
    Path combined = write("combined.pem", "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + key + cert);
    assertBelongsTo(PemFiles.readPrivateKey(crypto, combined), ecLeaf);
  }

  @Test
  void missingFile() {
    Path file = dir.resolve("nope.pem");
    assertError(() -> PemFiles.readCertificates(crypto, file), file + ": cannot read: no such file");
  }

  @Test
  void emptyCertificateFile() throws Exception {
    Path file = write("empty.pem", "");
    assertError(() -> PemFiles.readCertificates(crypto, file),
        file + ": no certificate found (expected -----BEGIN CERTIFICATE----- blocks)");
  }

  @Test
  void halfWrittenCertificateFile() throws Exception {
    String full = Files.readString(ecLeaf.writeCertificate(dir.resolve("full.pem")));
    Path file = write("half.pem", full.substring(0, full.length() / 2));
    assertError(() -> PemFiles.readCertificates(crypto, file),
        file + ": malformed PEM (block 1): -----END CERTIFICATE not found");
  }

  @Test
  void badBase64() throws Exception {
    Path file = write("bad.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> PemFiles.readCertificates(crypto, file))
        .hasMessageStartingWith(file + ": malformed PEM (block 1): ");
  }

  @Test
  void notACertificate() throws Exception {
    Path file = write("bad.pem", "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> PemFiles.readCertificates(crypto, file))
        .hasMessageStartingWith(file + ": malformed PEM (block 1): ");
  }

  @Test
  void keyInACertificateFileIsRefused() throws Exception {
    Path cert = ecLeaf.writeCertificate(dir.resolve("c.pem"));
    Path key = ecLeaf.writeKey(dir.resolve("k.pem"));
    Path file = write("leaky.pem", Files.readString(cert) + Files.readString(key));
    assertError(() -> PemFiles.readCertificates(crypto, file), file + ": PEM block 2 is a private key;"
        + " keep keys out of certificate files, which are often readable by everyone");
  }

  @Test
  void noKeyInKeyFile() throws Exception {
    Path file = ecLeaf.writeCertificate(dir.resolve("cert-as-key.pem"));
    assertError(() -> PemFiles.readPrivateKey(crypto, file), file
        + ": no private key found (expected a PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block)");
  }

  @Test
  void twoKeys() throws Exception {
    String a = Files.readString(ecLeaf.writeKey(dir.resolve("a.pem")));
    String b = Files.readString(rsaLeaf.writeKey(dir.resolve("b.pem")));
    Path file = write("two.pem", a + b);
    assertError(() -> PemFiles.readPrivateKey(crypto, file), file + ": contains more than one private key");
  }

  @Test
  void encryptedKey() throws Exception {
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(new JcaPKCS8Generator(ecLeaf.privateKey(),
          new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC).setPassword("secret".toCharArray()).build()));
    }
    Path file = write("encrypted.pem", pem.toString());
    assertError(() -> PemFiles.readPrivateKey(crypto, file), file + ": the private key is encrypted; meshguard reads"
        + " unencrypted keys (protect the file with mode 0600 and a secret volume instead)");
  }

  @Test
  void unsupportedKeyAlgorithm() throws Exception {
    PrivateKey ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate();
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(new JcaPKCS8Generator(ed, null));
    }
    Path file = write("ed25519.pem", pem.toString());
    assertError(() -> PemFiles.readPrivateKey(crypto, file),
        file + ": the private key's algorithm 1.3.101.112 is not supported; use an EC or RSA key");
  }

  @Test
  void tooLarge() throws Exception {
    Path file = dir.resolve("huge.pem");
    Files.write(file, new byte[PemFiles.MAX_FILE_BYTES + 1]);
    assertError(() -> PemFiles.readCertificates(crypto, file),
        file + ": is 1048577 bytes, larger than the limit of 1048576 bytes for a PEM file");
  }

  private Path write(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.US_ASCII);
  }

  private static void assertError(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
    assertThatThrownBy(call).isInstanceOf(ConfigException.class).hasMessage(message);
  }
}

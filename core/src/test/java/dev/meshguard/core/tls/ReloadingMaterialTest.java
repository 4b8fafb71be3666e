package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.KeyType;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reload decisions and the key manager's behaviour across swaps, driven by calling the poll
 * directly (reloadInterval zero: no scheduler, no sleeps). The socket-level proof is in the mTLS ITs.
 */
class ReloadingMaterialTest {

  private static final String SERVER_ID = "spiffe://cluster.local/ns/meshguard/sa/server";

  private static Crypto crypto;
  private static TestCa ca;

  @TempDir Path dir;
  private CertFiles files;
  private Path bundle;
  private TestCert first;
  private TlsContext tls;

  @BeforeAll
  static void setUpCa() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
    ca = TestCa.create("cluster.local");
  }

  @BeforeEach
  void start() throws ConfigException {
    first = ca.leaf(SERVER_ID).issue();
    files = first.writeTo(dir, "server");
    bundle = ca.writeBundle(dir.resolve("ca.crt"));
    tls = TlsContext.forServer(options(files.chain(), files.key(), bundle), crypto, null);
  }

  @AfterEach
  void stop() {
    tls.close();
  }

  private static TlsOptions options(Path cert, Path key, Path bundle) {
    return TlsOptions.builder().certFile(cert).keyFile(key).trustBundleFile(bundle)
        .reloadInterval(Duration.ZERO).build();
  }

  private ReloadingMaterial material() {
    return tls.material();
  }

  @Test
  void unchangedFilesKeepTheGeneration() {
    assertThat(material().checkForChanges()).isFalse();
    assertThat(tls.generation()).isEqualTo(1);
    assertThat(tls.certificate()).isEqualTo(first.certificate());
  }

  @Test
  void newCertificateAndKeyArePublishedAsTheNextGeneration() {
    TestCert second = ca.leaf(SERVER_ID).keyType(KeyType.RSA_2048).issue();
    second.writeTo(dir, "server");
    assertThat(material().checkForChanges()).isTrue();
    assertThat(tls.generation()).isEqualTo(2);
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
    assertThat(tls.reloadFailures()).isZero();
  }

  @Test
  void contentDecidesNotModificationTime() throws Exception {
    FileTime before = Files.getLastModifiedTime(files.chain());
    TestCert second = ca.leaf(SERVER_ID).issue();
    second.writeTo(dir, "server");
    Files.setLastModifiedTime(files.chain(), before);
    Files.setLastModifiedTime(files.key(), before);
    assertThat(material().checkForChanges()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
  }

  @Test
  void keyOfAnotherCertificateKeepsTheLastGoodMaterialUntilTheKeyArrives() {
    TestCert second = ca.leaf(SERVER_ID).issue();
    second.writeChain(files.chain()); // certificate rotated, key not yet

    assertThat(material().checkForChanges()).isFalse();
    assertThat(tls.generation()).isEqualTo(1);
    assertThat(tls.certificate()).isEqualTo(first.certificate());
    assertThat(tls.reloadFailures()).isEqualTo(1);
    // The same bad content is not rebuilt or counted again on every poll.
    assertThat(material().checkForChanges()).isFalse();
    assertThat(tls.reloadFailures()).isEqualTo(1);

    second.writeKey(files.key());
    assertThat(material().checkForChanges()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
  }

  @Test
  void halfWrittenCertificateKeepsTheLastGoodMaterialAndIsRetried() throws Exception {
    TestCert second = ca.leaf(SERVER_ID).issue();
    Path full = second.writeChain(dir.resolve("next-chain.crt"));
    String pem = Files.readString(full);
    Files.writeString(files.chain(), pem.substring(0, pem.length() / 3));
    second.writeKey(files.key());

    assertThat(material().checkForChanges()).isFalse();
    assertThat(tls.certificate()).isEqualTo(first.certificate());
    assertThat(tls.reloadFailures()).isEqualTo(1);

    Files.writeString(files.chain(), pem);
    assertThat(material().checkForChanges()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
  }

  @Test
  void brieflyMissingFileKeepsTheLastGoodMaterial() throws Exception {
    Files.delete(files.key());
    assertThat(material().checkForChanges()).isFalse();
    assertThat(tls.certificate()).isEqualTo(first.certificate());
    first.writeKey(files.key());
    assertThat(material().checkForChanges()).as("same content as generation 1").isFalse();
    assertThat(tls.generation()).isEqualTo(1);
  }

  @Test
  void kubernetesSymlinkSwapIsFollowed() throws ConfigException {
    SecretVolume volume = new SecretVolume(dir.resolve("secret"));
    volume.publish(first, ca);
    try (TlsContext k8s = TlsContext.forServer(options(volume.cert(), volume.key(), volume.bundle()), crypto, null)) {
      TestCert second = ca.leaf(SERVER_ID).issue();
      volume.publish(second, ca);
      assertThat(k8s.material().checkForChanges()).isTrue();
      assertThat(k8s.certificate().getSerialNumber()).isEqualTo(second.serial());
    }
  }

  @Test
  void aliasChosenBeforeASwapStillResolvesToItsOwnGeneration() {
    ReloadingKeyManager keyManager = new ReloadingKeyManager(material());
    String alias1 = keyManager.chooseEngineServerAlias("EC", null, null);
    assertThat(alias1).startsWith("1:");

    TestCert second = ca.leaf(SERVER_ID).issue();
    second.writeTo(dir, "server");
    assertThat(material().checkForChanges()).isTrue();

    // A handshake that chose alias1 before the swap still gets generation 1's chain and key.
    assertThat(keyManager.getCertificateChain(alias1)[0]).isEqualTo(first.certificate());
    assertThat(keyManager.getPrivateKey(alias1)).isNotNull();
    String alias2 = keyManager.chooseEngineServerAlias("EC", null, null);
    assertThat(alias2).startsWith("2:");
    assertThat(keyManager.getCertificateChain(alias2)[0]).isEqualTo(second.certificate());

    // Only one previous generation is kept.
    ca.leaf(SERVER_ID).issue().writeTo(dir, "server");
    assertThat(material().checkForChanges()).isTrue();
    assertThat(keyManager.getCertificateChain(alias1)).isNull();
    assertThat(keyManager.getPrivateKey(alias1)).isNull();
    assertThat(keyManager.getCertificateChain(alias2)[0]).isEqualTo(second.certificate());
    assertThat(keyManager.getPrivateKey("garbage")).isNull();
    assertThat(keyManager.getPrivateKey("x:y")).isNull();
  }

  @Test
  void newTrustBundleAppliesToTheNextCheck() throws Exception {
    TestCa otherCa = TestCa.create("cluster.local");
    X509Certificate[] foreignChain = otherCa.leaf("spiffe://cluster.local/ns/a/sa/b").issue()
        .chain().toArray(new X509Certificate[0]);
    ReloadingTrustManager trustManager = new ReloadingTrustManager(material(), null);
    assertThatThrownBy(() -> trustManager.checkClientTrusted(foreignChain, "ECDHE_ECDSA"))
        .isInstanceOf(CertificateException.class);

    TestCa.writeBundle(bundle, ca, otherCa);
    assertThat(material().checkForChanges()).isTrue();
    trustManager.checkClientTrusted(foreignChain, "ECDHE_ECDSA");
    assertThat(trustManager.getAcceptedIssuers()).hasSize(2);
  }

  @Test
  void initialLoadFailureNamesTheFile() {
    TestCert other = ca.leaf(SERVER_ID).issue();
    Path otherKey = other.writeKey(dir.resolve("other.key"));
    assertThatThrownBy(() -> TlsContext.forServer(options(files.chain(), otherKey, bundle), crypto, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(otherKey + ": the private key (EC) does not belong to the certificate in "
            + files.chain() + " (EC P-256, serial ");
  }
}

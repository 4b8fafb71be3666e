package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.KeyFormat;
import dev.meshguard.testkit.tls.KeyType;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.netty.handler.ssl.JdkSslContext;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PEM loading and TLS contexts inside the FIPS module (approved-only fork). */
@Tag("fips")
class TlsFipsTest {

  private static Crypto crypto;

  @TempDir Path dir;

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.FIPS);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"EC_P256, PKCS8", "EC_P256, TRADITIONAL", "RSA_2048, PKCS8", "RSA_2048, TRADITIONAL"})
  void pemKeysAndCertificatesBecomeBcFipsObjects(KeyType type, KeyFormat format) throws Exception {
    TestCert leaf = TestCa.create("cluster.local").leaf("spiffe://cluster.local/ns/a/sa/b").keyType(type).issue();
    PrivateKey key = PemFiles.readPrivateKey(crypto, leaf.writeKey(dir.resolve("k.pem"), format));
    assertThat(key.getClass().getName()).startsWith("org.bouncycastle.");
    assertThat(PemFiles.readCertificates(crypto, leaf.writeChain(dir.resolve("c.pem"))).getFirst().getClass().getName())
        .startsWith("org.bouncycastle.");
  }

  @Test
  void serverContextUsesBcJsse() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    CertFiles files = ca.leaf("spiffe://cluster.local/ns/a/sa/server").issue().writeTo(dir, "server");
    try (TlsContext tls = TlsContext.forServer(TlsOptions.builder().certFile(files.chain()).keyFile(files.key())
        .trustBundleFile(ca.writeBundle(dir.resolve("ca.crt"))).reloadInterval(Duration.ZERO).build(), crypto, null)) {
      assertThat(((JdkSslContext) tls.sslContext()).context().getProvider().getName()).isEqualTo("BCJSSE");
    }
  }

  @Test
  void certificateWithAnUnapprovedKeyIsRefusedAtStartNamingTheFile() throws Exception {
    Path cert = resource("rsa1024.crt");
    TlsOptions options = TlsOptions.builder().certFile(cert).keyFile(resource("rsa1024.key"))
        .clientAuth(TlsOptions.ClientAuth.NONE).reloadInterval(Duration.ZERO).build();
    assertThatThrownBy(() -> TlsContext.forServer(options, crypto, null))
        .isInstanceOf(ConfigException.class)
        .hasMessage(cert + ": the certificate's key is RSA 1024, which FIPS mode does not allow;"
            + " use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096");
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(TlsFipsTest.class.getResource("/tls/" + name).toURI());
  }
}

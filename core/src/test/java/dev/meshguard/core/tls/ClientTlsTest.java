package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ClientTls} in default mode: what it reads, what it refuses, and which provider it builds on. */
class ClientTlsTest {

  private static Crypto crypto;

  @TempDir
  Path dir;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @Test
  void contextsAreBuiltOnTheModesProviderWithItsDefaultSuites() throws Exception {
    TestCa ca = TestCa.create("example.test");
    CertFiles client = ca.leaf("spiffe://example.test/client").issue().writeTo(dir, "client");
    ClientTls tls = ClientTls.load(crypto, "t", ca.writeBundle(dir.resolve("ca.pem")), client.chain(), client.key());
    assertThat(tls.presentsCertificate()).isTrue();

    SslContext netty = tls.configure(SslContextBuilder.forClient()).build();
    assertThat(((JdkSslContext) netty).context().getProvider().getName()).isEqualTo("SunJSSE");
    SSLContext reference = SSLContext.getInstance("TLS", "SunJSSE");
    reference.init(null, null, null);
    assertThat(netty.cipherSuites()).as("the provider's enabled suites, not netty's own list")
        .containsExactlyInAnyOrderElementsOf(List.of(reference.getDefaultSSLParameters().getCipherSuites()));
    assertThat(tls.sslContext().getProvider().getName()).isEqualTo("SunJSSE");
    assertThat(tls.sslParameters().getEndpointIdentificationAlgorithm()).isEqualTo("HTTPS");
    assertThat(tls.grpcContext().isClient()).isTrue();
  }

  @Test
  void withoutACaFileTheJvmsTrustStoreIsUsed() throws Exception {
    ClientTls tls = ClientTls.load(crypto, "t", null, null, null);
    assertThat(tls.caFile()).isNull();
    assertThat(tls.presentsCertificate()).isFalse();
  }

  @Test
  void aCertificateWithoutItsKeyIsRefusedNamingTheSetting() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> ClientTls.load(crypto, "authz.custom_provider_tls.ext", null, dir.resolve("c.pem"), null));
    assertThat(e.errors()).extracting(ConfigError::render).singleElement().asString()
        .isEqualTo("config: authz.custom_provider_tls.ext: a client certificate and its private key are given together"
            + " (certificate " + dir.resolve("c.pem") + ", key null)");
  }

  @Test
  void aKeyOfAnotherCertificateIsRefusedNamingTheKeyFile() {
    TestCa ca = TestCa.create("example.test");
    CertFiles one = ca.leaf("spiffe://example.test/one").issue().writeTo(dir, "one");
    CertFiles two = ca.leaf("spiffe://example.test/two").issue().writeTo(dir, "two");
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> ClientTls.load(crypto, "t", null, one.chain(), two.key()));
    assertThat(e.errors()).extracting(ConfigError::render).singleElement().asString()
        .contains(two.key().toString()).contains("does not belong to the certificate");
  }
}

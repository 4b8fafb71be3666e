package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
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

  @Test
  void checkForChangesLoadsNewContentRefusesBadContentOnceAndRetriesWhenItChanges() throws Exception {
    TestCa ca = TestCa.create("example.test");
    TestCert v1 = ca.leaf("spiffe://example.test/client").issue();
    CertFiles files = v1.writeTo(dir, "client");
    ClientTls tls = ClientTls.load(crypto, "t", ca.writeBundle(dir.resolve("ca.pem")), files.chain(), files.key());
    assertThat(tls.checkForChanges()).as("nothing changed").isFalse();
    assertThat(tls.generation()).isEqualTo(1);

    java.nio.file.Files.writeString(files.key(), "-----BEGIN PRIVATE KEY-----\nMIGH"); // half-written
    assertThat(tls.checkForChanges()).isFalse();
    assertThat(tls.checkForChanges()).isFalse();
    assertThat(tls.reloadFailures()).as("one problem, counted once").isEqualTo(1);
    assertThat(tls.reloadProblem()).startsWith(files.key().toString());
    assertThat(tls.certificate().getSerialNumber()).as("the last good material stays").isEqualTo(v1.serial());

    TestCert v2 = ca.leaf("spiffe://example.test/client").issue();
    v2.writeTo(dir, "client");
    assertThat(tls.checkForChanges()).isTrue();
    assertThat(tls.generation()).isEqualTo(2);
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(v2.serial());
    assertThat(tls.reloadProblem()).isNull();
  }

  @Test
  void withoutFilesThereIsNothingToReload() throws Exception {
    ClientTls tls = ClientTls.load(crypto, "t", null, null, null);
    assertThat(tls.checkForChanges()).isFalse();
    assertThat(tls.generation()).isEqualTo(1);
    assertThat(tls.reloadProblem()).isNull();
  }

  @Test
  void anExpectedSpiffeIdReplacesHostNameVerificationAndAServerNameIsTheSni() throws Exception {
    TestCa ca = TestCa.create("example.test");
    ClientTls plain = ClientTls.load(crypto, "t", ca.writeBundle(dir.resolve("ca.pem")), null, null);
    ClientTls svid = plain.expecting("authz.example.test",
        dev.meshguard.core.spiffe.SpiffeId.parse("spiffe://example.test/authz"));
    assertThat(svid.sslParameters().getEndpointIdentificationAlgorithm()).isEmpty();
    assertThat(svid.sslParameters().getServerNames()).containsExactly(new javax.net.ssl.SNIHostName("authz.example.test"));
    assertThat(svid.serverName()).isEqualTo("authz.example.test");
    javax.net.ssl.SSLEngine engine = svid.sslContext().createSSLEngine("10.0.0.7", 443);
    assertThat(engine.getPeerHost()).as("the engine's peer host is the server name").isEqualTo("authz.example.test");
    assertThat(plain.expecting(null, null).sslParameters().getEndpointIdentificationAlgorithm()).isEqualTo("HTTPS");
  }
}

package dev.meshguard.ca.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.workload.proto.Workload.JWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.ValidateJWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDResponse;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.ManualClock;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Workload API in a JVM in Bouncy Castle approved-only mode (the "fips" fork): SVID keys,
 * CSRs, leaves, a rotated root and ES256 JWT-SVIDs are all made by BCFIPS.
 */
@Tag("fips")
class FipsWorkloadApiTest {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  @TempDir
  Path dir;

  static Crypto crypto;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
  }

  @Test
  void svidsAndJwtSvidsAreIssuedAndValidatedInApprovedOnlyMode() throws Exception {
    ManualClock clock = new ManualClock(Instant.now());
    CaOptions options = CaOptions.defaults().withTtls(Duration.ofHours(1), Duration.ofDays(1))
        .withCaValidity(Duration.ofDays(30));
    RootRotation rotation = RootRotation.rotating(crypto, clock,
        CertificateAuthority.selfSigned(crypto, clock, "example.org", KeyAlgorithm.ECDSA_P384, options),
        RootRotation.Options.DEFAULTS.withPeriods(Duration.ofDays(10), Duration.ofDays(1)),
        () -> CertificateAuthority.selfSigned(crypto, clock, "example.org", KeyAlgorithm.ECDSA_P384, options));
    long uid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    WorkloadApiOptions workload = WorkloadApiOptions.DEFAULTS.withSocket(dir.resolve("agent.sock"))
        .withRefreshInterval(Duration.ofMinutes(1))
        .withEntries(List.of(RegistrationEntry.parse("uid:" + uid + "=" + WEB)));

    try (WorkloadApiServer server = WorkloadApiServer.start(crypto, clock, rotation, workload);
         RawClient raw = new RawClient(server.socket())) {
      X509SVIDResponse response = raw.stub().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next();
      CertificateFactory factory = crypto.certificateFactory();
      X509Certificate leaf = (X509Certificate) factory.generateCertificate(
          new ByteArrayInputStream(response.getSvids(0).getX509Svid().toByteArray()));
      X509Certificate root = (X509Certificate) factory.generateCertificate(
          new ByteArrayInputStream(response.getSvids(0).getBundle().toByteArray()));
      leaf.verify(root.getPublicKey(), "BCFIPS");
      PrivateKey key = crypto.keyFactory("EC").generatePrivate(
          new PKCS8EncodedKeySpec(response.getSvids(0).getX509SvidKey().toByteArray()));
      assertThat(key.getClass().getName()).startsWith("org.bouncycastle.");
      assertThat(KeyFactory.getInstance("EC").getProvider().getName()).isEqualTo("BCFIPS");

      String token = raw.stub().fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("billing").build())
          .getSvids(0).getSvid();
      assertThat(SignedJWT.parse(token).getHeader().getAlgorithm().getName()).isEqualTo("ES256");
      assertThat(raw.stub().validateJWTSVID(ValidateJWTSVIDRequest.newBuilder()
          .setAudience("billing").setSvid(token).build()).getSpiffeId()).isEqualTo(WEB);

      // A rotated root, minted in approved-only mode, reaches the stream.
      clock.advance(Duration.ofDays(9));
      server.refresh();
      assertThat(rotation.current().x509Authorities()).hasSize(2);
    }
  }
}

package dev.meshguard.ca.server;

import static dev.meshguard.ca.server.CaFixture.WEB;
import static dev.meshguard.ca.server.CaFixture.bearer;
import static dev.meshguard.ca.server.CaFixture.create;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.RootStore;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.Clock;
import dev.meshguard.testkit.Await;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plugged-in CA (Istio's four files, no {@code roots/}) re-read while the server runs, as istiod
 * hot-reloads its {@code cacerts}: an operator's good change signs the next certificate and moves
 * the servers' own certificate and the bundle; a bad change keeps the last good CA signing and says
 * why on {@code /status} and in the metrics, until the files are fixed.
 */
class PluggedInCaReloadIT {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  @Test
  void aGoodChangeSignsNextABadOneKeepsTheLastGoodCaAndSaysWhy() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    Path files = dir.resolve("ca");
    CertificateAuthority first = CertificateAuthority.init(crypto, Clock.SYSTEM, files, CaFixture.TRUST_DOMAIN,
        KeyAlgorithm.DEFAULT, CaOptions.defaults());
    CertificateAuthority second = CertificateAuthority.init(crypto, Clock.SYSTEM, dir.resolve("next"),
        CaFixture.TRUST_DOMAIN, KeyAlgorithm.ECDSA_P384, CaOptions.defaults());

    try (CaFixture ca = CaFixture.start(dir, crypto, options -> options.withReloadInterval(Duration.ofMillis(50)))) {
      assertThat(ca.server.isPluggedIn()).isTrue();
      assertThat(RootStore.isManaged(files)).as("a plugged-in CA's directory is left as it is").isFalse();
      String token = ca.tokens.token("default", "web");
      assertThat(root(create(ca.channel(), bearer(token, null), TestCsrs.ecP256(WEB).pem(), 0).getCertChainList()))
          .isEqualTo(first.signingCertificate());
      long sequence = ca.server.rotation().current().sequence();
      Path firstKey = Files.copy(files.resolve(CaDirectory.CA_KEY), dir.resolve("first-key.pem"));

      // The operator replaces the files (one by one, as kubectl's secret update does).
      for (String name : List.of(CaDirectory.ROOT_CERT, CaDirectory.CERT_CHAIN, CaDirectory.CA_KEY, CaDirectory.CA_CERT)) {
        Files.copy(dir.resolve("next").resolve(name), files.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
      Await.until(WAIT, () -> ca.server.ca().signingCertificate().equals(second.signingCertificate())
          && ca.server.status().lastError() == null, () -> "the new CA to be loaded; status " + ca.server.status());
      assertThat(ca.server.rotation().current().sequence()).isGreaterThan(sequence);
      assertThat(ca.server.bundleJson()).contains(java.util.Base64.getEncoder().encodeToString(
          second.signingCertificate().getEncoded()));
      assertThat(reloads(ca, "ok")).isGreaterThanOrEqualTo(1);
      // The servers' certificate is re-issued by the new CA, so agents given the new root connect.
      Await.until(WAIT, () -> ca.server.servingCertificate().getIssuerX500Principal()
          .equals(second.signingCertificate().getSubjectX500Principal()), () -> "the serving certificate to follow");
      ManagedChannel channel = ca.channel();
      assertThat(root(create(channel, bearer(token, null), TestCsrs.ecP256(WEB).pem(), 0).getCertChainList()))
          .isEqualTo(second.signingCertificate());

      // A bad change: the key of another CA. The last good CA keeps signing; /status says why.
      double failedBefore = reloads(ca, "failed");
      Path staged = Files.copy(firstKey, files.resolve(".staged-key.pem"));
      // Moved into place in one step, so the poll sees the bad file whole (one refusal, one reason).
      Files.move(staged, files.resolve(CaDirectory.CA_KEY), StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
      Await.until(WAIT, () -> ca.server.status().lastError() != null, () -> "the bad change to be noticed");
      assertThat(ca.server.status().lastError())
          .startsWith("the CA files in " + files + " changed but do not load, so the previous CA keeps signing: ")
          .contains(files.resolve(CaDirectory.CA_KEY) + ": is not the private key of ca-cert.pem");
      assertThat(ca.server.status().ready()).isTrue();
      assertThat(ca.server.ca().signingCertificate()).isEqualTo(second.signingCertificate());
      assertThat(root(create(channel, bearer(token, null), TestCsrs.ecP256(WEB).pem(), 0).getCertChainList()))
          .isEqualTo(second.signingCertificate());
      assertThat(reloads(ca, "failed")).isEqualTo(failedBefore + 1);

      // Fixed: the error clears.
      Files.copy(dir.resolve("next").resolve(CaDirectory.CA_KEY), files.resolve(CaDirectory.CA_KEY),
          StandardCopyOption.REPLACE_EXISTING);
      Await.until(WAIT, () -> ca.server.status().lastError() == null, () -> "the fix to be loaded");
      assertThat(ca.server.ca().signingCertificate()).isEqualTo(second.signingCertificate());
    }
  }

  private static double reloads(CaFixture ca, String result) {
    return ca.registry.find("meshguard.ca.reloads").tag("result", result).counter().count();
  }

  private static X509Certificate root(List<String> chain) throws Exception {
    return CaFixture.parse(chain.getLast()).getFirst();
  }
}

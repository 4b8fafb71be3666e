package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The system's {@code openssl}, a TLS implementation written by others, against our mTLS gRPC
 * server and our fixture certificates.
 */
@Tag("e2e")
class OpensslE2eIT {

  private static final String SERVER_ID = "spiffe://cluster.local/ns/meshguard/sa/authz";
  private static final String CLIENT_ID = "spiffe://cluster.local/ns/frontend/sa/web";
  private static final Pattern PEM_CERT = Pattern.compile(
      "-----BEGIN CERTIFICATE-----\\R.*?-----END CERTIFICATE-----\\R?", Pattern.DOTALL);

  @TempDir Path dir;
  private String openssl;
  private TestCa ca;
  private Path bundle;
  private CertFiles serverFiles;
  private TlsContext tls;
  private GrpcServer server;

  @BeforeEach
  void start() throws Exception {
    openssl = findOpenssl();
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    ca = TestCa.create("cluster.local");
    bundle = ca.writeBundle(dir.resolve("bundle.crt"));
    serverFiles = ca.leaf(SERVER_ID).issue().writeTo(dir, "server");
    tls = TlsContext.forServer(TlsOptions.builder()
        .certFile(serverFiles.chain()).keyFile(serverFiles.key()).trustBundleFile(bundle)
        .allowedPeers(SpiffeIdAllowList.parse("allowed", List.of(CLIENT_ID)))
        .reloadInterval(Duration.ZERO).build(), crypto, null);
    server = GrpcServer.builder().tls(tls).start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (server != null) {
      server.close(Duration.ZERO);
    }
    if (tls != null) {
      tls.close();
    }
  }

  @Test
  void opensslClientCompletesTheMtlsHandshakeWithAlpnH2AndSeesTheSpiffeId() throws Exception {
    CertFiles client = ca.leaf(CLIENT_ID).issue().writeTo(dir, "client");
    Result result = run(openssl, "s_client",
        "-connect", "127.0.0.1:" + server.port(),
        "-cert", client.certificate().toString(), "-key", client.key().toString(),
        "-CAfile", bundle.toString(), "-verify_return_error",
        "-alpn", "h2", "-showcerts");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout()).as(result.toString())
        .contains("ALPN protocol: h2")
        .contains("Verify return code: 0 (ok)")
        .containsPattern("Protocol *: TLSv1\\.3|New, TLSv1\\.3");

    Matcher pem = PEM_CERT.matcher(result.stdout());
    assertThat(pem.find()).as("s_client printed the server certificate").isTrue();
    Path printed = Files.writeString(dir.resolve("printed.crt"), pem.group());
    Result san = run(openssl, "x509", "-in", printed.toString(), "-noout", "-ext", "subjectAltName");
    assertThat(san.exitCode()).as(san.toString()).isZero();
    assertThat(san.stdout()).contains("URI:" + SERVER_ID);
  }

  @Test
  void opensslVerifyAcceptsAFixtureLeafAndRefusesItAgainstAnotherCa() throws Exception {
    TestCert leaf = ca.leaf(CLIENT_ID).issue();
    Path cert = leaf.writeCertificate(dir.resolve("leaf.crt"));
    Result ok = run(openssl, "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", bundle.toString(), cert.toString());
    assertThat(ok.exitCode()).as(ok.toString()).isZero();
    assertThat(ok.stdout().strip()).isEqualTo(cert + ": OK");

    Path otherBundle = TestCa.create("cluster.local").writeBundle(dir.resolve("other.crt"));
    Result refused = run(openssl, "verify", "-CAfile", otherBundle.toString(), cert.toString());
    assertThat(refused.exitCode()).as(refused.toString()).isNotZero();
    assertThat(refused.stdout() + refused.stderr()).contains("unable to get local issuer certificate");
  }

  private static String findOpenssl() {
    for (String entry : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(entry, "openssl");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return fail("openssl is not on PATH; this end-to-end test needs it: apt-get install openssl");
  }

  record Result(int exitCode, String stdout, String stderr) {}

  private Result run(String... command) throws Exception {
    // Output to files, so a chatty process can never block on a full pipe.
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process process = new ProcessBuilder(new ArrayList<>(List.of(command)))
        .directory(dir.toFile())
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    // Empty stdin: s_client finishes the handshake, prints, reads EOF and closes the connection.
    process.getOutputStream().close();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("timed out: " + String.join(" ", command));
    }
    return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }
}

package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.ca.IssueResult.Refused;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Conformance checked by a tool we did not write: CSRs made by {@code openssl req}, leaves
 * verified with {@code openssl verify -x509_strict -purpose sslclient|sslserver} against the
 * root, and the extensions read back from {@code openssl x509 -text}.
 */
@Tag("e2e")
class OpensslConformanceIT {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  @TempDir
  static Path dir;

  static CertificateAuthority ca;
  static Path root;

  @BeforeAll
  static void createCa() throws Exception {
    try {
      openssl("version");
    } catch (IOException e) {
      fail("openssl is not installed (apt-get install openssl): " + e.getMessage());
    }
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    // The real clock: openssl verify checks validity against the real time.
    ca = CertificateAuthority.init(crypto, Clock.SYSTEM, dir.resolve("ca"), "example.org", KeyAlgorithm.DEFAULT,
        CaOptions.defaults());
    root = dir.resolve("ca/root-cert.pem");
  }

  record Run(int exit, String output) {}

  static Run openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("openssl " + String.join(" ", args) + " did not finish");
    }
    return new Run(process.exitValue(), output);
  }

  /** {@code openssl req} with a fresh key of {@code newkey} and the given extra arguments. */
  static byte[] csr(String name, List<String> newkey, String... extra) throws Exception {
    Path out = dir.resolve(name + ".csr.pem");
    List<String> args = new ArrayList<>(List.of("req", "-new", "-nodes", "-keyout", dir.resolve(name + ".key").toString(),
        "-out", out.toString()));
    args.addAll(newkey);
    args.addAll(List.of(extra));
    Run run = openssl(args.toArray(String[]::new));
    assertThat(run.exit()).as(run.output()).isZero();
    return Files.readAllBytes(out);
  }

  static final List<String> P256 = List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256");
  static final List<String> P384 = List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384");
  static final List<String> RSA2048 = List.of("-newkey", "rsa:2048");

  static Stream<Arguments> keyTypes() {
    return Stream.of(Arguments.of("p256", P256, false), Arguments.of("p384", P384, false),
        Arguments.of("rsa2048", RSA2048, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("keyTypes")
  void opensslVerifiesIssuedLeavesForClientAndServerUse(String name, List<String> newkey, boolean rsa) throws Exception {
    byte[] csr = csr(name, newkey, "-subj", "/", "-addext", "subjectAltName=URI:" + WEB);
    IssueResult result = ca.issue(csr, SpiffeId.parse(WEB), null);
    assertThat(result).isInstanceOf(Issued.class);
    Path leaf = dir.resolve(name + ".leaf.pem");
    Files.writeString(leaf, PemText.certificate(((Issued) result).leaf()));
    for (String purpose : List.of("sslclient", "sslserver")) {
      Run verify = openssl("verify", "-x509_strict", "-purpose", purpose, "-CAfile", root.toString(), leaf.toString());
      assertThat(verify.exit()).as(verify.output()).isZero();
      assertThat(verify.output()).isEqualTo(leaf + ": OK\n");
    }
    String text = openssl("x509", "-in", leaf.toString(), "-noout", "-text").output();
    assertThat(text).containsPattern("\n\\s+Subject: ?\n");
    assertThat(text).containsPattern("X509v3 Subject Alternative Name: critical\n\\s+URI:" + WEB + "\n");
    assertThat(text).containsPattern("X509v3 Basic Constraints: critical\n\\s+CA:FALSE\n");
    assertThat(text).containsPattern("X509v3 Key Usage: critical\n\\s+Digital Signature"
        + (rsa ? ", Key Encipherment\n" : "\n"));
    assertThat(text).containsPattern("X509v3 Extended Key Usage: ?\n\\s+TLS Web Server Authentication, TLS Web Client Authentication\n");
    assertThat(text).contains("X509v3 Authority Key Identifier");
  }

  @Test
  void theRootIsASpiffeCa() throws Exception {
    Run verify = openssl("verify", "-x509_strict", "-CAfile", root.toString(), root.toString());
    assertThat(verify.exit()).as(verify.output()).isZero();
    String text = openssl("x509", "-in", root.toString(), "-noout", "-text").output();
    assertThat(text).containsPattern("X509v3 Basic Constraints: critical\n\\s+CA:TRUE\n");
    assertThat(text).containsPattern("X509v3 Key Usage: critical\n\\s+Certificate Sign, CRL Sign\n");
    assertThat(text).contains("X509v3 Subject Key Identifier");
    assertThat(text).containsPattern("X509v3 Subject Alternative Name: ?\n\\s+URI:spiffe://example.org\n");
  }

  static Stream<Arguments> refusedCsrs() {
    return Stream.of(
        Arguments.of("other", P256, List.of("-subj", "/", "-addext", "subjectAltName=URI:spiffe://example.org/ns/default/sa/admin"),
            Refusal.Category.PERMISSION_DENIED),
        Arguments.of("rsa1024", List.of("-newkey", "rsa:1024"), List.of("-subj", "/", "-addext", "subjectAltName=URI:" + WEB),
            Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("sha1", P256, List.of("-sha1", "-subj", "/", "-addext", "subjectAltName=URI:" + WEB),
            Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("dns", P256, List.of("-subj", "/", "-addext", "subjectAltName=URI:" + WEB + ",DNS:web.example.org"),
            Refusal.Category.PERMISSION_DENIED),
        Arguments.of("twouris", P256, List.of("-subj", "/", "-addext",
            "subjectAltName=URI:" + WEB + ",URI:spiffe://example.org/ns/default/sa/web2"), Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("ca", P256, List.of("-subj", "/", "-addext", "subjectAltName=URI:" + WEB, "-addext",
            "basicConstraints=critical,CA:TRUE"), Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("ed25519", List.of("-newkey", "ed25519"), List.of("-subj", "/", "-addext", "subjectAltName=URI:" + WEB),
            Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("badid", P256, List.of("-subj", "/", "-addext", "subjectAltName=URI:spiffe://example.org/ns//sa/web"),
            Refusal.Category.INVALID_ARGUMENT),
        Arguments.of("cn", P256, List.of("-subj", "/CN=web", "-addext", "subjectAltName=URI:" + WEB),
            Refusal.Category.INVALID_ARGUMENT));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedCsrs")
  void opensslMadeBadCsrsAreRefused(String name, List<String> newkey, List<String> extra, Refusal.Category category)
      throws Exception {
    byte[] csr = csr("bad-" + name, newkey, extra.toArray(String[]::new));
    IssueResult result = ca.issue(csr, SpiffeId.parse(WEB), null);
    assertThat(result).isInstanceOf(Refused.class);
    assertThat(((Refused) result).refusal().category()).as("%s", result).isEqualTo(category);
  }
}

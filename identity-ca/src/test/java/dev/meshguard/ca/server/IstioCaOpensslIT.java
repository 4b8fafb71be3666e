package dev.meshguard.ca.server;

import static dev.meshguard.ca.server.CaFixture.WEB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateResponse;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CSRs made by {@code openssl req}, sent over the Istio CA API by a caller authenticated as
 * {@value CaFixture#WEB}: the table of refused requests, each with the gRPC code issue 7 gives
 * it (PERMISSION_DENIED for a name the caller may not have, INVALID_ARGUMENT for everything wrong
 * with the request itself) and never a certificate; and one good request, whose chain
 * {@code openssl verify -x509_strict} accepts for client and server use.
 */
@Tag("e2e")
class IstioCaOpensslIT {
  @TempDir
  static Path dir;

  static CaFixture ca;
  static int counter;

  @BeforeAll
  static void start() throws Exception {
    try {
      openssl("version");
    } catch (IOException e) {
      fail("openssl is not installed (apt-get install openssl): " + e.getMessage());
    }
    ca = CaFixture.start(dir, Crypto.install(CryptoMode.DEFAULT));
  }

  @AfterAll
  static void stop() {
    ca.close();
  }

  record Run(int exit, String output) {}

  static Run openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("openssl " + String.join(" ", args) + " did not finish");
    }
    return new Run(process.exitValue(), output);
  }

  static final List<String> P256 = List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256");

  /** {@code openssl req -new} with a fresh key, an empty subject and the given extra arguments; PEM. */
  static String req(List<String> newkey, String... extra) {
    try {
      Path out = dir.resolve("csr-" + (++counter) + ".pem");
      List<String> args = new ArrayList<>(List.of("req", "-new", "-nodes", "-keyout", dir.resolve("key-" + counter + ".pem")
          .toString(), "-out", out.toString(), "-subj", "/"));
      args.addAll(newkey);
      args.addAll(List.of(extra));
      Run run = openssl(args.toArray(String[]::new));
      assertThat(run.exit()).as(run.output()).isZero();
      return Files.readString(out);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  static String san(String value) {
    return "subjectAltName=" + value;
  }

  /** An openssl CSR for {@value CaFixture#WEB} with the last byte of its signature flipped. */
  static String corruptedSignature() {
    String pem = req(P256, "-addext", san("URI:" + WEB));
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
    der[der.length - 1] ^= 0x01;
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }

  /** A row; {@code reason} is how the refusal's message starts, so each row fails for its own reason. */
  static Arguments row(String name, Supplier<String> csr, Status.Code code, String reason) {
    return Arguments.of(name, csr, code, reason);
  }

  static final String NOT_SPIFFE = "the CSR's URI SAN is not a valid SPIFFE ID: invalid SPIFFE ID \"";

  static Stream<Arguments> refused() {
    Status.Code invalid = Status.Code.INVALID_ARGUMENT;
    return Stream.of(
        row("another identity", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns/default/sa/admin")),
            Status.Code.PERMISSION_DENIED,
            "the CSR asks for spiffe://example.org/ns/default/sa/admin but the caller is " + WEB),
        row("RSA-1024 key", () -> req(List.of("-newkey", "rsa:1024"), "-addext", san("URI:" + WEB)), invalid,
            "the CSR's key is RSA 1024, which is not allowed"),
        row("SHA-1 signature", () -> req(P256, "-sha1", "-addext", san("URI:" + WEB)), invalid,
            "the CSR is signed with SHA-1"),
        row("extra DNS SAN", () -> req(P256, "-addext", san("URI:" + WEB + ",DNS:web.example.org")),
            Status.Code.PERMISSION_DENIED,
            "the CSR asks for the DNS name web.example.org"),
        row("two URI SANs", () -> req(P256, "-addext", san("URI:" + WEB + ",URI:spiffe://example.org/ns/default/sa/web2")),
            invalid,
            "the CSR has 2 URI SANs"),
        row("CA:TRUE request", () -> req(P256, "-addext", san("URI:" + WEB), "-addext", "basicConstraints=critical,CA:TRUE"),
            invalid,
            "the CSR requests a CA certificate"),
        row("corrupted signature", IstioCaOpensslIT::corruptedSignature, invalid,
            "the CSR's signature does not verify"),
        row("SPIFFE ID with an upper-case trust domain", () -> req(P256, "-addext",
            san("URI:spiffe://Example.org/ns/default/sa/web")), invalid,
            NOT_SPIFFE + "spiffe://Example.org/ns/default/sa/web\": trust domain"),
        row("SPIFFE ID with an empty segment", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns//sa/web")),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/ns//sa/web\": path must not contain empty segments"),
        row("SPIFFE ID with a dot segment", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns/./sa/web")),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/ns/./sa/web\": path must not contain '.'"),
        row("SPIFFE ID with a trailing slash", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns/default/sa/web/")),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/ns/default/sa/web/\": path must not end with"),
        row("SPIFFE ID with percent-encoding", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns/default/sa/w%65b")),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/ns/default/sa/w%65b\": percent-encoding"),
        row("SPIFFE ID with a query", () -> req(P256, "-addext", san("URI:spiffe://example.org/ns/default/sa/web?x=1")),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/ns/default/sa/web?x=1\": query and fragment"),
        row("trust domain ID (no path)", () -> req(P256, "-addext", san("URI:spiffe://example.org")), invalid,
            "the CSR's SPIFFE ID spiffe://example.org has no path"),
        row("SPIFFE ID over 2048 bytes", () -> req(P256, "-addext", san("URI:spiffe://example.org/" + "a".repeat(2100))),
            invalid,
            NOT_SPIFFE + "spiffe://example.org/aaa"),
        row("not a SPIFFE URI", () -> req(P256, "-addext", san("URI:https://example.org/ns/default/sa/web")), invalid,
            NOT_SPIFFE + "https://example.org/ns/default/sa/web\": scheme"),
        row("garbage in a PEM block", () -> "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NSIGF0IGFsbA==\n"
            + "-----END CERTIFICATE REQUEST-----\n", invalid,
            "the CSR is not a PKCS#10 certificate request: "),
        row("garbage text", () -> "please sign me", invalid,
            "the CSR is not a PKCS#10 certificate request: "),
        row("empty CSR", () -> "", invalid,
            "the CSR is not a PKCS#10 certificate request: "));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedWithItsCodeAndNoCertificate(String name, Supplier<String> csr, Status.Code code, String reason)
      throws Exception {
    String request = csr.get();
    String token = ca.tokens.token("default", "web");
    assertThatThrownBy(() -> CaFixture.create(ca.channel(), CaFixture.bearer(token, null), request, 0))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(code);
          assertThat(e.getStatus().getDescription()).startsWith(reason);
        });
  }

  @Test
  void anOpensslCsrIsIssuedAndItsChainVerifiesWithOpenssl() throws Exception {
    IstioCertificateResponse response = CaFixture.create(ca.channel(),
        CaFixture.bearer(ca.tokens.token("default", "web"), null), req(P256, "-addext", san("URI:" + WEB)), 0);
    Path leaf = Files.writeString(dir.resolve("issued-leaf.pem"), response.getCertChain(0));
    Path root = Files.writeString(dir.resolve("issued-root.pem"), response.getCertChain(response.getCertChainCount() - 1));
    assertThat(Files.readString(root)).isEqualTo(Files.readString(ca.rootFile()));
    for (String purpose : List.of("sslclient", "sslserver")) {
      Run verify = openssl("verify", "-x509_strict", "-purpose", purpose, "-CAfile", root.toString(), leaf.toString());
      assertThat(verify.output()).isEqualTo(leaf + ": OK\n");
    }
  }
}

package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CaCommandTest {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  @TempDir
  Path dir;

  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  private Path csr(String name, String... uris) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    var keyPair = generator.generateKeyPair();
    var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
        keyPair.getPublic());
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    List<GeneralName> names = new ArrayList<>();
    for (String uri : uris) {
      names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
    }
    extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
    byte[] der = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate())).getEncoded();
    Path file = dir.resolve(name);
    Files.writeString(file, "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder().encodeToString(der)
        + "\n-----END CERTIFICATE REQUEST-----\n");
    return file;
  }

  private static List<X509Certificate> parseChain(String pem) throws Exception {
    List<X509Certificate> chain = new ArrayList<>();
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    for (var certificate : factory.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      chain.add((X509Certificate) certificate);
    }
    return chain;
  }

  @Test
  void initIssueBundle() throws Exception {
    Path ca = dir.resolve("ca");
    assertThat(run("ca", "init", "--dir", ca.toString(), "--trust-domain", "example.org", "--key-type", "ec-p384"))
        .as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("created a ecdsa-p384 root CA for spiffe://example.org in " + ca);
    assertThat(Files.readString(ca.resolve("roots/1/ca-cert.pem"))).as("a CA made here is one meshguard rotates")
        .isEqualTo(Files.readString(ca.resolve("ca-cert.pem")));
    assertThat(Files.getPosixFilePermissions(ca.resolve("ca-key.pem"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(out.toString() + err).doesNotContain("PRIVATE KEY");

    assertThat(run("ca", "issue", "--dir", ca.toString(), "--csr", csr("web.csr", WEB).toString(), "--ttl", "2h"))
        .as(err.toString()).isZero();
    List<X509Certificate> chain = parseChain(out.toString());
    assertThat(chain).hasSize(2);
    X509Certificate root = parseChain(Files.readString(ca.resolve("root-cert.pem"))).get(0);
    assertThat(chain.get(1)).isEqualTo(root);
    assertThat(chain.get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    chain.get(0).verify(root.getPublicKey());
    assertThat(Duration.between(chain.get(0).getNotBefore().toInstant(), chain.get(0).getNotAfter().toInstant()))
        .isEqualTo(Duration.ofHours(2).plusMinutes(1));

    assertThat(run("ca", "bundle", "--dir", ca.toString())).as(err.toString()).isZero();
    JsonNode bundle = new ObjectMapper().readTree(out.toString());
    assertThat(bundle.get("spiffe_sequence").asLong()).isEqualTo(1);
    assertThat(bundle.get("spiffe_refresh_hint").asLong()).isEqualTo(300);
    assertThat(bundle.get("keys")).hasSize(1);
    assertThat(bundle.get("keys").get(0).get("use").asText()).isEqualTo("x509-svid");
    assertThat(bundle.get("keys").get(0).get("crv").asText()).isEqualTo("P-384");
    assertThat(Base64.getDecoder().decode(bundle.get("keys").get(0).get("x5c").get(0).asText())).isEqualTo(root.getEncoded());
  }

  @Test
  void refusalsExitOneWithTheReasonAndPrintNoCertificate() throws Exception {
    Path ca = dir.resolve("ca");
    assertThat(run("ca", "init", "--dir", ca.toString(), "--trust-domain", "example.org")).isZero();
    assertThat(run("ca", "issue", "--dir", ca.toString(), "--csr",
        csr("two.csr", WEB, "spiffe://example.org/ns/default/sa/other").toString())).isEqualTo(1);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString()).isEqualTo(
        "meshguard: refused (INVALID_ARGUMENT): the CSR has 2 URI SANs; an X.509-SVID has exactly one, the SPIFFE ID\n");

    assertThat(run("ca", "issue", "--dir", ca.toString(), "--csr", csr("web.csr", WEB).toString(), "--ttl", "2161h"))
        .isEqualTo(1);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString()).isEqualTo(
        "meshguard: refused (INVALID_ARGUMENT): the requested TTL PT2161H is longer than the maximum PT2160H\n");

    assertThat(run("ca", "issue", "--dir", ca.toString(), "--csr", dir.resolve("missing.csr").toString())).isEqualTo(1);
    assertThat(err.toString()).isEqualTo("meshguard: " + dir.resolve("missing.csr") + ": no such file\n");
  }

  @Test
  void initRefusesToOverwriteAndBadOptionsAreUsageErrors() {
    Path ca = dir.resolve("ca");
    assertThat(run("ca", "init", "--dir", ca.toString(), "--trust-domain", "example.org")).isZero();
    assertThat(run("ca", "init", "--dir", ca.toString(), "--trust-domain", "example.org")).isEqualTo(CliErrors.CONFIG);
    assertThat(err.toString()).contains("ca-cert.pem: a CA exists already in " + ca + "; refusing to overwrite it");
    assertThat(run("ca", "init", "--dir", dir.resolve("x").toString(), "--trust-domain", "example.org",
        "--key-type", "rsa-1024")).isEqualTo(2);
    assertThat(err.toString()).contains("\"rsa-1024\": use ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096");
    assertThat(Files.exists(dir.resolve("x"))).isFalse();
    assertThat(run("ca", "--trust-domain", "example.org", "--dir", dir.resolve("y").toString(),
        "--workload-entry", "uid=spiffe://example.org/web")).isEqualTo(2);
    assertThat(err.toString()).contains("--workload-entry").contains("selector \"uid\" is not NAME:NUMBER, e.g. uid:1001");
    assertThat(Files.exists(dir.resolve("y"))).isFalse();
    assertThat(run("ca", "bundle", "--dir", dir.resolve("none").toString())).isEqualTo(CliErrors.CONFIG);
    assertThat(err.toString()).contains("ca-cert.pem: cannot read: no such file");
  }
}

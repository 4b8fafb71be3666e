package dev.meshguard.cli;

import static dev.meshguard.cli.PackagedJar.awaitServer;
import static dev.meshguard.cli.PackagedJar.meshguard;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateRequest;
import dev.meshguard.ca.istio.v1.auth.Ca.IstioCertificateResponse;
import dev.meshguard.ca.istio.v1.auth.IstioCertificateServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code meshguard ca --trust-domain TD --dir DIR --workload-socket PATH --workload-entry SEL=ID}
 * as a separate process from the packaged distribution: it creates the CA (persisted under
 * {@code roots/}), issues over the Istio CA API to a service-account token checked against a
 * configured JWKS and over the Workload API to this process (matched by its uid), lists both on
 * {@code /status} and in the metrics, records both in an audit log that verifies after SIGTERM,
 * and removes its socket.
 */
class CaProcessIT {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";
  static final String WORKER = "spiffe://example.org/ns/jobs/sa/worker";

  @TempDir
  Path tmp;

  private Process process;
  private ManagedChannel channel;

  @AfterEach
  void kill() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void createsTheCaIssuesToATokenAndAuditsIt() throws Exception {
    ECKey issuerKey = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    Files.writeString(tmp.resolve("jwks.json"), new JWKSet(issuerKey.toPublicJWK()).toString());
    Files.writeString(tmp.resolve("meshguard.yaml"), """
        ca:
          authentication:
            primary_cluster: local
            clusters:
              local: {jwks: {file: jwks.json, issuer: https://issuer.example}}
        """);
    Path log = tmp.resolve("ca.log");
    Path socket = tmp.resolve("workload.sock");
    long uid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    process = meshguard(log, "ca",
            "--config", tmp.resolve("meshguard.yaml").toString(), "--trust-domain", "example.org",
            "--dir", tmp.resolve("ca").toString(), "--port", "0",
            "--bundle-port", "0", "--admin-port", "0",
            "--audit-dir", tmp.resolve("audit").toString(), "--workload-socket", socket.toString(),
            "--workload-entry", "uid:" + uid + "=" + WORKER).start();
    PackagedJar.Server server = awaitServer(log, "meshguard ca");
    int port = server.port("ca", "grpc");
    int bundlePort = server.port("ca", "bundle");
    assertThat(Files.readString(log))
        .contains("ca         grpc://127.0.0.1:" + port + "  Istio CA API for spiffe://example.org (TLS by SunJSSE)")
        .contains("istio-agent: CA_ADDR=<one of localhost>:" + port)
        .contains("roots rotate every 365d (new root published 7d ahead), next step at ")
        .contains("bundle     https://127.0.0.1:" + bundlePort + "/  SPIFFE trust bundle (https_web)")
        .contains("workload   unix://" + socket + "  SPIFFE Workload API, 1 registration entries"
            + " (SPIFFE_ENDPOINT_SOCKET=unix://" + socket + ")");
    assertThat(tmp.resolve("ca/ca-key.pem")).exists();
    assertThat(tmp.resolve("ca/roots/1/ca-key.pem")).exists();

    String token = token(issuerKey);
    channel = NettyChannelBuilder.forAddress("localhost", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(tmp.resolve("ca/root-cert.pem").toFile()).build()).build();
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    IstioCertificateResponse response = IstioCertificateServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .createCertificate(IstioCertificateRequest.newBuilder().setCsr(csr()).build());
    assertThat(response.getCertChainCount()).isEqualTo(2);
    assertThat(response.getCertChain(1)).isEqualTo(Files.readString(tmp.resolve("ca/root-cert.pem")));

    HttpResponse<String> status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        server.admin("/status")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(status.body()).contains("\"component\":\"ca\"").contains("\"grpc\":\"127.0.0.1:" + port + "\"")
        .contains("\"bundle\":\"https://127.0.0.1:" + bundlePort + "/\"")
        .contains("\"workload_api\":\"unix://" + socket + "\"");
    String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        server.admin("/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("meshguard_ca_issued_total{api=\"istio\",key_type=\"ecdsa-p256\"} 1.0")
        .contains("meshguard_ca_issued_total{api=\"workload\",key_type=\"ecdsa-p256\"} 1.0")
        .contains("meshguard_ca_refused_total{api=\"istio\",reason=\"permission_denied\"} 0.0")
        .contains("meshguard_ca_request_latency_seconds_count 1")
        .containsPattern("meshguard_ca_certificate_expiry_timestamp_seconds\\{certificate=\"root\"\\} [0-9.E]+");

    process.destroy();
    assertThat(process.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(log)).contains("meshguard ca stopped");
    assertThat(socket).as("the Workload API removed its socket").doesNotExist();
    assertThat(Main.commandLine().execute("audit", "verify", tmp.resolve("audit").toString())).isZero();
    StringWriter events = new StringWriter();
    CommandLine query = Main.commandLine();
    query.setOut(new PrintWriter(events));
    assertThat(query.execute("audit", "query", "--component", "ca", "--outcome", "issued", "--format", "json",
        tmp.resolve("audit").toString())).isZero();
    assertThat(events.toString()).contains("\"kind\":\"issue\"").contains("\"spiffe_id\":\"" + WEB + "\"")
        .contains("system:serviceaccount:default:web")
        .contains("\"spiffe_id\":\"" + WORKER + "\"").contains("Workload API SVID of the registration entries for");
  }

  private static String token(ECKey key) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(),
        new JWTClaimsSet.Builder().issuer("https://issuer.example").audience("istio-ca")
            .subject("system:serviceaccount:default:web").issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(Duration.ofHours(1)))).build());
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  private static String csr() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    var keyPair = generator.generateKeyPair();
    var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
        keyPair.getPublic());
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, WEB)));
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
    byte[] der = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate())).getEncoded();
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder().encodeToString(der)
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }
}

package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.policy.PolicyBundle;
import dev.meshguard.policy.PolicyLoader;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.testkit.FreePorts;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed policy bundles as the server's policy source: a bundle directory, a ZIP file, and an
 * HTTPS URL (a real JDK HttpsServer with a TestCa certificate) polled with ETags. A bundle that
 * does not verify is refused and the last good one keeps serving.
 */
class PolicyBundleSourceTest {

  /** Version N allows the frontend to GET /vN only. */
  static String policies(int version) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: orders, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          action: ALLOW
          rules:
          - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
            to: [{operation: {paths: ["/vN"]}}]
        """.replace("N", Integer.toString(version));
  }

  @TempDir
  Path dir;

  private final Crypto crypto = AuthzFixture.crypto();
  private KeyPair signer;
  private KeyPair stranger;
  private Path publicKey;
  private AuthzFixture fixture;
  private HttpsServer https;

  @BeforeEach
  void keys() throws Exception {
    signer = PolicyBundle.generateKey(crypto);
    stranger = PolicyBundle.generateKey(crypto);
    Path keyFile = dir.resolve("signing.pem");
    PolicyBundle.writeKeyPair(signer, keyFile);
    publicKey = PolicyBundle.publicKeyFile(keyFile);
  }

  @AfterEach
  void close() {
    if (fixture != null) {
      fixture.close();
    }
    if (https != null) {
      https.stop(0);
    }
  }

  /** Writes policies(version) as a bundle at {@code out}, signed with {@code key}. */
  private Path bundle(Path out, int version, PrivateKey key) throws Exception {
    Path src = Files.createDirectories(dir.resolve("src-" + version));
    Files.writeString(src.resolve("orders.yaml"), policies(version));
    PolicySet set = PolicyLoader.load(List.of(src));
    PolicyBundle.write(set, List.of(src), out, key, crypto, Clock.SYSTEM);
    return out;
  }

  private byte[] zip(int version, PrivateKey key) throws Exception {
    Path out = dir.resolve("zip-" + version + "-" + System.nanoTime());
    return BundleArchive.write(bundle(out, version, key));
  }

  private AuthzFixture start(AuthzOptions options) throws Exception {
    Path home = Files.createDirectories(dir.resolve("server"));
    fixture = AuthzFixture.start(home, options, "", null);
    return fixture;
  }

  private static AuthzOptions withBundle(String location, Path key, Path ca) {
    return AuthzOptions.builder().bundle(location).bundleKey(key).bundlePollInterval(Duration.ofHours(1)).bundleCa(ca)
        .build();
  }

  private boolean allows(int version) {
    CheckRequest r = EnvoyCheckRequests.http("GET", "/v" + version).workload("shop", "app=orders")
        .principal(AuthzFixture.FRONTEND).build();
    return fixture.stub.check(r).getStatus().getCode() == 0;
  }

  @Test
  void aBundleDirectoryLoadsReloadsAndRefusesWhatDoesNotVerify() throws Exception {
    Path bundleDir = bundle(dir.resolve("bundle"), 1, signer.getPrivate());
    start(withBundle(bundleDir.toString(), publicKey, null));
    assertThat(allows(1)).isTrue();
    assertThat(allows(2)).isFalse();

    bundle(bundleDir, 2, signer.getPrivate());
    assertThat(fixture.server.reloadIfChanged()).isTrue();
    assertThat(allows(2)).isTrue();
    String good = fixture.server.revision();

    // Signed by another key: refused, v2 keeps serving, /status says why.
    bundle(bundleDir, 3, stranger.getPrivate());
    assertThat(fixture.server.reloadIfChanged()).isFalse();
    assertThat(fixture.server.revision()).isEqualTo(good);
    assertThat(allows(2)).isTrue();
    assertThat(fixture.server.lastError()).contains("does not verify with the trusted key");
    assertThat(fixture.server.status().lastError()).contains("does not verify");
    assertThat(fixture.counter("meshguard.authz.policy.reload.failures")).isEqualTo(1);

    // Signed right again, then a policy file edited after signing: refused, naming the file.
    bundle(bundleDir, 3, signer.getPrivate());
    assertThat(fixture.server.reloadIfChanged()).isTrue();
    assertThat(allows(3)).isTrue();
    Path policyFile;
    try (var files = Files.walk(bundleDir.resolve(PolicyBundle.POLICIES_DIR))) {
      policyFile = files.filter(Files::isRegularFile).findFirst().orElseThrow();
    }
    Files.writeString(policyFile, Files.readString(policyFile).replace("/v3", "/v9"));
    assertThat(fixture.server.reloadIfChanged()).isFalse();
    assertThat(fixture.server.lastError()).contains("SHA-256 digest differs");
    assertThat(allows(3)).isTrue();
    assertThat(allows(9)).isFalse();
  }

  @Test
  void aBundleZipFileLoadsAndReloads() throws Exception {
    Path zip = Files.write(dir.resolve("bundle.zip"), zip(1, signer.getPrivate()));
    start(withBundle(zip.toString(), publicKey, null));
    assertThat(allows(1)).isTrue();
    Files.write(zip, zip(2, signer.getPrivate()));
    assertThat(fixture.server.reloadIfChanged()).isTrue();
    assertThat(allows(2)).isTrue();
    assertThat(allows(1)).isFalse();
  }

  @Test
  void aBundleThatDoesNotVerifyAtStartIsAConfigError() throws Exception {
    Path bundleDir = bundle(dir.resolve("bundle"), 1, stranger.getPrivate());
    assertThatThrownBy(() -> start(withBundle(bundleDir.toString(), publicKey, null)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("does not verify");
    assertThatThrownBy(() -> start(withBundle(bundleDir.toString(), null, null)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("authz.bundle_key");
  }

  @Test
  void aZipThatEscapesItsDirectoryIsRefused() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      out.putNextEntry(new ZipEntry("policies/../../evil.json"));
      out.write("{}".getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
    Path target = Files.createDirectories(dir.resolve("x"));
    ConfigException e = org.assertj.core.api.Assertions.catchThrowableOfType(ConfigException.class,
        () -> BundleArchive.extract("b.zip", bytes.toByteArray(), target));
    assertThat(e.errors()).extracting(ConfigError::render)
        .containsExactly("b.zip: entry \"policies/../../evil.json\": \"..\" is not allowed");
    assertThat(dir.resolve("evil.json")).doesNotExist();
  }

  /** What the HTTPS server serves, and what it was asked. */
  private final AtomicReference<byte[]> served = new AtomicReference<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();

  private static String etag(byte[] bytes) throws Exception {
    return "\"" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 8) + "\"";
  }

  /** An HTTPS bundle server on localhost with a certificate from {@code ca}, answering 304 to a matching If-None-Match. */
  private String serve(TestCa ca) throws Exception {
    TestCert leaf = ca.leaf("spiffe://cluster.local/ns/bundles/sa/server").dnsNames("localhost").issue();
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(
        new PKCS8EncodedKeySpec(leaf.privateKey().getEncoded()));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("server", key, new char[0], leaf.chain().toArray(new Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(store, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), null, null);
    https = HttpsServer.create(new InetSocketAddress(FreePorts.LOOPBACK, 0), 0);
    https.setHttpsConfigurator(new HttpsConfigurator(context));
    https.createContext("/bundles/authz.zip", exchange -> {
      try {
        byte[] body = served.get();
        String tag = etag(body);
        String ifNoneMatch = exchange.getRequestHeaders().getFirst("If-None-Match");
        requests.add(ifNoneMatch == null ? "GET" : "GET If-None-Match " + (ifNoneMatch.equals(tag) ? "current"
            : "other"));
        exchange.getResponseHeaders().add("ETag", tag);
        if (tag.equals(ifNoneMatch)) {
          exchange.sendResponseHeaders(304, -1);
        } else {
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
        }
      } catch (Exception e) {
        exchange.sendResponseHeaders(500, -1);
      }
      exchange.close();
    });
    https.start();
    return "https://localhost:" + https.getAddress().getPort() + "/bundles/authz.zip";
  }

  @Test
  void anHttpsBundleIsPolledWithEtagsSwappedOnChangeAndKeptWhenBad() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    Path caFile = ca.writeBundle(dir.resolve("ca.pem"));
    served.set(zip(1, signer.getPrivate()));
    String url = serve(ca);
    start(withBundle(url, publicKey, caFile));
    assertThat(allows(1)).isTrue();
    assertThat(requests).containsExactly("GET");

    // Unchanged: 304, nothing reloads.
    String v1 = fixture.server.revision();
    assertThat(fixture.server.pollBundle()).isFalse();
    assertThat(requests).last().isEqualTo("GET If-None-Match current");
    assertThat(fixture.server.revision()).isEqualTo(v1);

    // Changed: 200 with a new ETag, verified, swapped.
    served.set(zip(2, signer.getPrivate()));
    assertThat(fixture.server.pollBundle()).isTrue();
    assertThat(requests).last().isEqualTo("GET If-None-Match other");
    assertThat(allows(2)).isTrue();
    assertThat(allows(1)).isFalse();
    String v2 = fixture.server.revision();

    // A bundle signed by another key: refused once, v2 keeps serving; the next poll is a 304.
    served.set(zip(3, stranger.getPrivate()));
    assertThat(fixture.server.pollBundle()).isFalse();
    assertThat(fixture.server.revision()).isEqualTo(v2);
    assertThat(allows(2)).isTrue();
    assertThat(fixture.server.lastError()).contains("bundle " + url).contains("does not verify");
    assertThat(fixture.server.pollBundle()).isFalse();
    assertThat(requests).last().isEqualTo("GET If-None-Match current");
    assertThat(fixture.counter("meshguard.authz.policy.reload.failures")).isEqualTo(1);

    // The server goes away: the fetch fails, v2 keeps serving.
    https.stop(0);
    https = null;
    assertThat(fixture.server.pollBundle()).isFalse();
    assertThat(fixture.server.lastError()).contains("cannot fetch the bundle");
    assertThat(allows(2)).isTrue();
    assertThat(fixture.counter("meshguard.authz.policy.bundle.polls", "result", "changed")).isEqualTo(3);
    assertThat(fixture.counter("meshguard.authz.policy.bundle.polls", "result", "unchanged")).isEqualTo(2);
    assertThat(fixture.counter("meshguard.authz.policy.bundle.polls", "result", "failed")).isEqualTo(1);
  }

  @Test
  void aBundleServerTheCaDoesNotVouchForIsNotTrusted() throws Exception {
    served.set(zip(1, signer.getPrivate()));
    String url = serve(TestCa.create("cluster.local"));
    Path otherCa = TestCa.create("cluster.local").writeBundle(dir.resolve("other-ca.pem"));
    assertThatThrownBy(() -> start(withBundle(url, publicKey, otherCa)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("cannot fetch the bundle");
    assertThat(requests).isEmpty();
  }

  @Test
  void plainHttpIsRefusedUnlessAllowed() {
    assertThatThrownBy(() -> start(withBundle("http://localhost:1/b.zip", publicKey, null)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("refusing plain http");
  }
}

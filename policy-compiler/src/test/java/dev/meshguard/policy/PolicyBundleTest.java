package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyBundleTest {
  static final Instant NOW = Instant.parse("2026-11-28T09:30:00.123Z");
  static final String SEP = "\n---\n";

  static final String MESH_DENY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: deny-plaintext
        namespace: istio-system
      spec:
        action: DENY
        rules:
        - from:
          - source:
              notPrincipals: ["*"]
      """;

  static final String SHOP = """
      apiVersion: security.istio.io/v1beta1
      kind: AuthorizationPolicy
      metadata:
        name: backend
        namespace: shop
        annotations:
          owner: team-shop
          istio.io/dry-run: "false"
      spec:
        selector:
          matchLabels: {app: backend, tier: api}
        rules:
        - from:
          - source:
              principals: ["cluster.local/ns/shop/sa/frontend"]
              notIpBlocks: ["10.9.0.0/16"]
          to:
          - operation:
              methods: ["GET", "HEAD"]
              paths: ["/api/*", "/items/{*}"]
              ports: ["8080"]
          when:
          - key: request.auth.claims[groups]
            values: ["shoppers"]
            notValues: ["banned"]
        - {}
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: ext
        namespace: shop
      spec:
        action: CUSTOM
        provider:
          name: opa
        rules:
        - to:
          - operation:
              paths: ["/admin/*"]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: gateway
        namespace: shop
      spec:
        targetRefs:
        - kind: Gateway
          group: gateway.networking.k8s.io
          name: shop-gw
        action: AUDIT
        rules:
        - to:
          - operation:
              hosts: ["shop.example.com"]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: allow-nothing
        namespace: shop
      spec: {}
      ---
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata:
        name: jwt
        namespace: shop
      spec:
        selector:
          matchLabels: {app: backend}
        jwtRules:
        - issuer: https://issuer.example.com
          audiences: [shop]
          jwksUri: https://issuer.example.com/.well-known/jwks.json
          fromHeaders:
          - name: x-jwt
            prefix: "Bearer "
          - name: x-raw
          fromParams: [token]
          outputPayloadToHeader: x-jwt-payload
          outputClaimToHeaders:
          - header: x-sub
            claim: sub
          forwardOriginalToken: true
          timeout: 5s
      """;

  static final String CEL = """
      apiVersion: meshguard.dev/v1
      kind: AuthorizationPolicy
      metadata:
        name: cel
        namespace: shop
      spec:
        action: DENY
        rules:
        - when:
          - cel: 'request.method == "DELETE"'
      """;

  static Crypto crypto;

  @TempDir
  Path tmp;

  private final ManualClock clock = new ManualClock(NOW);
  private KeyPair key;
  private Path sources;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @BeforeEach
  void setUp() throws Exception {
    key = PolicyBundle.generateKey(crypto);
    sources = tmp.resolve("src");
    Files.createDirectories(sources.resolve("shop"));
    Files.writeString(sources.resolve("mesh.yaml"), MESH_DENY);
    Files.writeString(sources.resolve("shop/policies.yaml"), SHOP);
    Files.writeString(sources.resolve("shop/cel.yaml"), CEL);
    Files.writeString(sources.resolve("README.txt"), "not a policy file");
  }

  private PolicySet loaded() throws ConfigException {
    return PolicyLoader.load(List.of(sources));
  }

  private Path bundle(String name) throws ConfigException {
    Path out = tmp.resolve(name);
    PolicyBundle.write(loaded(), List.of(sources), out, key.getPrivate(), crypto, clock);
    return out;
  }

  private static Map<String, byte[]> contents(Path dir) throws Exception {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        files.put(dir.relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return files;
  }

  private static List<String> messages(ConfigException e) {
    return e.errors().stream().map(ConfigError::render).toList();
  }

  @Test
  void aSignedBundleLoadsBackToTheSamePolicies() throws Exception {
    PolicySet set = loaded();
    Path out = bundle("bundle");

    PolicySet back = PolicyBundle.load(out, key.getPublic());
    assertThat(back.revision()).isEqualTo(set.revision());
    assertThat(PolicyDigest.canonical(back.authorizationPolicies(), back.requestAuthentications()))
        .isEqualTo(PolicyDigest.canonical(set.authorizationPolicies(), set.requestAuthentications()));
    assertThat(back.authorizationPolicies()).extracting(p -> p.ref())
        .containsExactly("istio-system/deny-plaintext", "shop/allow-nothing", "shop/backend", "shop/cel", "shop/ext",
            "shop/gateway");
    // Positions now point into the bundle, where a server's errors should point.
    assertThat(back.authorizationPolicies().get(0).position().file())
        .isEqualTo(out.resolve("policies/istio-system/AuthorizationPolicy-deny-plaintext.json").toString());

    // And the bundle's policies compile and decide like the originals.
    PolicyEngine engine = PolicyEngine.compile(back, MeshConfig.DEFAULT);
    assertThat(engine.revision()).isEqualTo(set.revision());
  }

  @Test
  void theManifestNamesRevisionVersionTimeAndEveryDigest() throws Exception {
    Path out = bundle("bundle");
    JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
    assertThat(manifest.get("format").asText()).isEqualTo("meshguard.policy-bundle/v1");
    assertThat(manifest.get("revision").asText()).isEqualTo(loaded().revision());
    assertThat(manifest.get("created_at").asText()).isEqualTo("2026-11-28T09:30:00Z");
    assertThat(manifest.get("compiler_version").asText()).isEqualTo(dev.meshguard.core.Version.current());
    assertThat(manifest.get("signature_algorithm").asText()).isEqualTo("SHA256withECDSA");
    assertThat(manifest.get("files")).hasSize(7);
    for (JsonNode f : manifest.get("files")) {
      byte[] bytes = Files.readAllBytes(out.resolve(f.get("path").asText()));
      assertThat(f.get("sha256").asText()).isEqualTo(PolicyBundleFiles.sha256Hex(bytes));
    }
    assertThat(manifest.get("files").get(0).get("path").asText())
        .isEqualTo("policies/istio-system/AuthorizationPolicy-deny-plaintext.json");
    assertThat(manifest.get("sources")).extracting(s -> s.get("path").asText()).containsExactly(
        sources.resolve("mesh.yaml").toString(), sources.resolve("shop/cel.yaml").toString(),
        sources.resolve("shop/policies.yaml").toString());
    assertThat(manifest.get("sources").get(0).get("sha256").asText())
        .isEqualTo(PolicyBundleFiles.sha256Hex(MESH_DENY.getBytes(StandardCharsets.UTF_8)));
    assertThat(Files.readString(out.resolve("manifest.sig")).strip()).matches("[A-Za-z0-9+/]+=*");
  }

  @Test
  void equalPoliciesInAnyLayoutGiveByteIdenticalBundles() throws Exception {
    Path first = bundle("one");
    // The same policies, split and ordered differently, in one directory.
    Path other = tmp.resolve("other");
    Files.createDirectories(other);
    String[] docs = SHOP.split("(?m)^---\\n");
    for (int i = 0; i < docs.length; i++) {
      Files.writeString(other.resolve("z" + (docs.length - i) + ".yaml"), docs[i]);
    }
    Files.writeString(other.resolve("a.yaml"), CEL + SEP + MESH_DENY);
    Path second = tmp.resolve("two");
    PolicyBundle.write(PolicyLoader.load(List.of(other)), List.of(other), second, key.getPrivate(), crypto, clock);

    Map<String, byte[]> a = contents(first);
    Map<String, byte[]> b = contents(second);
    assertThat(b.keySet()).isEqualTo(a.keySet());
    for (String file : a.keySet()) {
      if (file.startsWith("policies")) {
        assertThat(new String(b.get(file), StandardCharsets.UTF_8)).as(file)
            .isEqualTo(new String(a.get(file), StandardCharsets.UTF_8));
      }
    }
    JsonNode ma = new ObjectMapper().readTree(a.get("manifest.json"));
    JsonNode mb = new ObjectMapper().readTree(b.get("manifest.json"));
    assertThat(mb.get("revision")).isEqualTo(ma.get("revision"));
    assertThat(mb.get("files")).isEqualTo(ma.get("files"));
  }

  @Test
  void writingAgainReplacesTheOldBundleWhole() throws Exception {
    Path out = bundle("bundle");
    Files.delete(sources.resolve("shop/policies.yaml"));
    PolicyBundle.write(loaded(), List.of(sources), out, key.getPrivate(), crypto, clock);
    assertThat(contents(out).keySet()).containsExactlyInAnyOrder("manifest.json", "manifest.sig",
        "policies/istio-system/AuthorizationPolicy-deny-plaintext.json", "policies/shop/AuthorizationPolicy-cel.json");
    assertThat(PolicyBundle.load(out, key.getPublic()).authorizationPolicies()).hasSize(2);
    try (Stream<Path> siblings = Files.list(tmp)) {
      assertThat(siblings.map(p -> p.getFileName().toString())).doesNotContain(".bundle.new-", ".bundle.old-")
          .allMatch(name -> !name.startsWith(".bundle."));
    }
  }

  @Test
  void aDirectoryThatIsNotABundleIsNotOverwritten() throws Exception {
    Path out = tmp.resolve("precious");
    Files.createDirectories(out);
    Files.writeString(out.resolve("notes.txt"), "keep me");
    assertThatThrownBy(() -> PolicyBundle.write(loaded(), List.of(sources), out, key.getPrivate(), crypto, clock))
        .isInstanceOf(ConfigException.class).hasMessageContaining("refusing to write into it");
    assertThat(Files.readString(out.resolve("notes.txt"))).isEqualTo("keep me");
  }

  @Test
  void aModifiedPolicyFileIsRefusedNamingTheFile() throws Exception {
    Path out = bundle("bundle");
    Path file = out.resolve("policies/istio-system/AuthorizationPolicy-deny-plaintext.json");
    String listed = PolicyBundleFiles.sha256Hex(Files.readAllBytes(file));
    Files.writeString(file, Files.readString(file).replace("DENY", "AUDIT"));
    String now = PolicyBundleFiles.sha256Hex(Files.readAllBytes(file));

    for (var trusted : new java.security.PublicKey[] {key.getPublic(), null}) {
      assertThatThrownBy(() -> PolicyBundle.load(out, trusted))
          .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(messages(e)).containsExactly(file
              + ": SHA-256 digest differs from the manifest (manifest " + listed + ", file " + now
              + "): the file was changed after the bundle was made"));
    }
  }

  @Test
  void aManifestEditedToMatchAModifiedFileFailsTheSignature() throws Exception {
    Path out = bundle("bundle");
    Path file = out.resolve("policies/shop/AuthorizationPolicy-ext.json");
    String before = PolicyBundleFiles.sha256Hex(Files.readAllBytes(file));
    Files.writeString(file, Files.readString(file).replace("/admin/*", "/nothing/*"));
    String after = PolicyBundleFiles.sha256Hex(Files.readAllBytes(file));
    Path manifest = out.resolve("manifest.json");
    Files.writeString(manifest, Files.readString(manifest).replace(before, after));

    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(messages(e)).containsExactly(manifest
            + ": the signature in manifest.sig does not verify with the trusted key " + PolicyBundle.keyId(key.getPublic())
            + ": the manifest was changed after signing, or another key signed it"));
    // Without a trusted key the revision still gives it away; once that is edited too, only a
    // signature can tell: that is what signing is for.
    assertThatThrownBy(() -> PolicyBundle.load(out, null))
        .isInstanceOf(ConfigException.class).hasMessageContaining(manifest + ": revision ")
        .hasMessageContaining("is not the digest of the policies in the bundle");
    String revision = new ObjectMapper().readTree(manifest.toFile()).get("revision").asText();
    String edited = PolicyEngine.compile(PolicyLoader.load(List.of(out.resolve("policies"))), MeshConfig.DEFAULT)
        .revision();
    Files.writeString(manifest, Files.readString(manifest).replace(revision, edited));
    assertThat(PolicyBundle.load(out, null).authorizationPolicies()).hasSize(6);
    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("does not verify");
  }

  @Test
  void aBundleSignedByAnotherKeyIsRefused() throws Exception {
    Path out = bundle("bundle");
    KeyPair other = PolicyBundle.generateKey(crypto);
    assertThatThrownBy(() -> PolicyBundle.load(out, other.getPublic()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("does not verify with the trusted key " + PolicyBundle.keyId(other.getPublic()));
  }

  @Test
  void aMissingSignatureIsRefusedWhenAKeyIsTrusted() throws Exception {
    Path out = bundle("bundle");
    Files.delete(out.resolve("manifest.sig"));
    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(messages(e)).containsExactly(
            out.resolve("manifest.sig") + ": missing: the bundle is not signed, and a trusted key is configured;"
                + " sign it with meshguard policy bundle --key"));
    PolicyBundle.Verified unsigned = PolicyBundle.verify(out, null, crypto);
    assertThat(unsigned.signed()).isFalse();
    assertThat(PolicyBundle.verify(bundle("again"), key.getPublic(), crypto).signed()).isTrue();
  }

  @Test
  void aGarbledSignatureIsRefused() throws Exception {
    Path out = bundle("bundle");
    Files.writeString(out.resolve("manifest.sig"), "AAAA\n");
    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("does not verify");
    Files.writeString(out.resolve("manifest.sig"), "not base64 at all!\n");
    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("manifest.sig: is not base64");
  }

  @Test
  void addedAndDeletedFilesAreRefused() throws Exception {
    Path out = bundle("bundle");
    Path extra = out.resolve("policies/shop/AuthorizationPolicy-sneaky.json");
    Files.copy(out.resolve("policies/shop/AuthorizationPolicy-ext.json"), extra);
    Path gone = out.resolve("policies/shop/AuthorizationPolicy-cel.json");
    Files.delete(gone);
    assertThatThrownBy(() -> PolicyBundle.load(out, key.getPublic()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(messages(e)).containsExactly(
            gone + ": is listed in the manifest but cannot be read: no such file",
            extra + ": is not named in the manifest: it was added after the bundle was made"));
  }

  @Test
  void aManifestCannotPointOutsideTheBundle() throws Exception {
    Path out = bundle("bundle");
    Files.delete(out.resolve("manifest.sig"));
    Path manifest = out.resolve("manifest.json");
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode node = (ObjectNode) mapper.readTree(manifest.toFile());
    ((ObjectNode) node.get("files").get(0)).put("path", "policies/../../src/mesh.yaml");
    ((ObjectNode) node.get("files").get(1)).put("path", "/etc/passwd");
    Files.write(manifest, mapper.writeValueAsBytes(node));
    assertThatThrownBy(() -> PolicyBundle.load(out, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("files[0].path: \"policies/../../src/mesh.yaml\" is not a file under policies/")
        .hasMessageContaining("files[1].path: \"/etc/passwd\" is not a file under policies/");
  }

  @Test
  void aFileHoldingAnotherPolicyThanListedIsRefused() throws Exception {
    Path out = bundle("bundle");
    Files.delete(out.resolve("manifest.sig"));
    // Swap two files and their digests: every digest matches, the names do not.
    Path a = out.resolve("policies/shop/AuthorizationPolicy-ext.json");
    Path b = out.resolve("policies/shop/AuthorizationPolicy-cel.json");
    byte[] aBytes = Files.readAllBytes(a);
    byte[] bBytes = Files.readAllBytes(b);
    Files.write(a, bBytes);
    Files.write(b, aBytes);
    Path manifest = out.resolve("manifest.json");
    String text = Files.readString(manifest);
    String da = PolicyBundleFiles.sha256Hex(aBytes);
    String db = PolicyBundleFiles.sha256Hex(bBytes);
    Files.writeString(manifest, text.replace(da, "X").replace(db, da).replace("X", db));
    assertThatThrownBy(() -> PolicyBundle.load(out, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(a + ": the manifest says it holds AuthorizationPolicy shop/ext, but it holds"
            + " AuthorizationPolicy shop/cel");
  }

  @Test
  void notABundle() {
    assertThatThrownBy(() -> PolicyBundle.load(tmp.resolve("nope"), null))
        .isInstanceOf(ConfigException.class).hasMessageContaining("nope: no such directory");
    assertThatThrownBy(() -> PolicyBundle.load(sources, null))
        .isInstanceOf(ConfigException.class).hasMessage(sources.resolve("manifest.json") + ": no such file");
  }

  @Test
  void keysAreWrittenPrivateAndReadBack() throws Exception {
    Path file = tmp.resolve("keys/bundle.pem");
    PolicyBundle.writeKeyPair(key, file);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    Path pub = tmp.resolve("keys/bundle.pub.pem");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pub))).isEqualTo("rw-r--r--");
    assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----\n");
    assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----\n");
    assertThat(PolicyBundle.readPrivateKey(crypto, file).getEncoded()).isEqualTo(key.getPrivate().getEncoded());
    assertThat(PolicyBundle.readPublicKey(crypto, pub).getEncoded()).isEqualTo(key.getPublic().getEncoded());
    assertThatThrownBy(() -> PolicyBundle.writeKeyPair(key, file))
        .isInstanceOf(ConfigException.class).hasMessageContaining("exists already; refusing to overwrite it");
  }

  @Test
  void onlyP256KeysAreAccepted() throws Exception {
    KeyPair p384 = crypto.generateKeyPair("test", KeyAlgorithm.ECDSA_P384);
    Path file = tmp.resolve("p384.pem");
    PolicyBundle.writeKeyPair(p384, file);
    assertThatThrownBy(() -> PolicyBundle.readPrivateKey(crypto, file))
        .isInstanceOf(ConfigException.class).hasMessageContaining("bundle signing keys must be ECDSA P-256");
    assertThatThrownBy(() -> PolicyBundle.readPublicKey(crypto, PolicyBundle.publicKeyFile(file)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("bundle keys must be ECDSA P-256; this is EC P-384");
    assertThatThrownBy(() -> PolicyBundle.readPublicKey(crypto, file))
        .isInstanceOf(ConfigException.class).hasMessageContaining("expected a PUBLIC KEY block");
  }

  @Test
  void fileSegmentsNeverEscapeTheirDirectory() {
    assertThat(PolicyBundleWriter.fileSegment("allow-all.v2")).isEqualTo("allow-all.v2");
    assertThat(PolicyBundleWriter.fileSegment("..")).isEqualTo("%2E.");
    assertThat(PolicyBundleWriter.fileSegment("a/b")).isEqualTo("a%2Fb");
    assertThat(PolicyBundleWriter.fileSegment("é")).isEqualTo("%C3%A9");
    assertThat(PolicyBundleWriter.fileSegment("")).isEqualTo("%");
    for (String name : List.of("..", ".", "a/../b", "x\\y", ".hidden", "")) {
      assertThat(PolicyBundleManifests.safePath("policies/" + PolicyBundleWriter.fileSegment(name) + "/f.json"))
          .as(name).isTrue();
    }
    assertThat(PolicyBundleManifests.safePath("policies/../x.json")).isFalse();
    assertThat(PolicyBundleManifests.safePath("policies/.x.json")).isFalse();
    assertThat(PolicyBundleManifests.safePath("other/x.json")).isFalse();
    assertThat(PolicyBundleManifests.safePath("policies//x.json")).isFalse();
  }
}

package dev.meshguard.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.PemFiles;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMParser;

/**
 * Policy bundles: a directory that carries a validated {@link PolicySet} from the machine that
 * checked it to the servers that enforce it, signed so that a server can refuse anything else.
 *
 * <h2>Layout</h2>
 * <pre>
 * DIR/manifest.json                                  what the bundle holds (below)
 * DIR/manifest.sig                                   base64 of an ECDSA P-256 / SHA-256 DER signature
 *                                                    over the bytes of manifest.json (absent: unsigned)
 * DIR/policies/NAMESPACE/AuthorizationPolicy-NAME.json     one normalised resource per policy
 * DIR/policies/NAMESPACE/RequestAuthentication-NAME.json
 * </pre>
 *
 * The manifest is JSON with snake_case keys: {@code format} ({@value #FORMAT}), {@code revision}
 * (the content digest of the policies, {@link PolicySet#revision()}: equal policies give equal
 * revisions whatever files they came from), {@code created_at} (RFC 3339 UTC),
 * {@code compiler_version} (meshguard's {@link Version}), {@code files} (every policy file:
 * {@code path}, {@code sha256}, {@code kind}, {@code policy}) and {@code sources} (the files the
 * bundle was made from: {@code path} as given, {@code sha256}). Because the manifest names the
 * digest of every file, the one signature over it covers the whole bundle, and the signature
 * can be checked with stock tools:
 * {@code openssl dgst -sha256 -verify key.pub.pem -signature <(base64 -d manifest.sig) manifest.json}.
 *
 * <p>The policy files are the resources as a user would apply them ({@link PolicyResources}),
 * written deterministically: the same policies give byte-identical files and the same revision.
 *
 * <h2>Loading</h2>
 * {@link #load} checks, and reports every failure at once: the signature (required whenever a
 * trusted key is given), every listed file's SHA-256 against the manifest (naming the file whose
 * digest differs), that no file is missing or unlisted, that each file holds the one policy the
 * manifest says, and that the policies' revision is the manifest's. Only then is the set returned;
 * the policies are parsed from the very bytes that were digested, never read twice.
 *
 * <p>Signatures go through {@link Crypto}: ECDSA on P-256 with SHA-256 is FIPS-approved, and in
 * FIPS mode the signing algorithm is checked against the approved list and run by the Bouncy
 * Castle FIPS module.
 */
public final class PolicyBundle {

  public static final String FORMAT = "meshguard.policy-bundle/v1";
  public static final String MANIFEST = "manifest.json";
  public static final String SIGNATURE = "manifest.sig";
  public static final String POLICIES_DIR = "policies";
  /** ECDSA over P-256 with SHA-256: FIPS 186-5, approved. */
  public static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  /** The setting named in errors about the bundle signing key. */
  public static final String KEY_SETTING = "policy.bundle_key";

  /** A manifest larger than this is refused before it is parsed (it lists files, not policies). */
  static final int MAX_MANIFEST_BYTES = 16 << 20;

  private static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC_MODE = PosixFilePermissions.fromString("rw-r--r--");
  /** One path segment of a file in a bundle: what {@link #fileSegment} produces, nothing else. */
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_%-][A-Za-z0-9._%-]*");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  /** The order n of the NIST P-256 group (FIPS 186-5 / SEC 2 secp256r1). */
  private static final BigInteger P256_ORDER =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private PolicyBundle() {}

  /**
   * What a bundle says about itself.
   *
   * @param format {@value #FORMAT}
   * @param revision the policies' content digest
   * @param createdAt when the bundle was made, RFC 3339 UTC
   * @param compilerVersion the meshguard version that made it
   * @param files the policy files, sorted by path
   * @param sources the files it was made from, in the order they were read
   */
  public record Manifest(String format, String revision, String createdAt, String compilerVersion,
      List<FileEntry> files, List<SourceEntry> sources) {
    public Manifest {
      Objects.requireNonNull(format, "format");
      Objects.requireNonNull(revision, "revision");
      Objects.requireNonNull(createdAt, "createdAt");
      Objects.requireNonNull(compilerVersion, "compilerVersion");
      files = List.copyOf(files);
      sources = List.copyOf(sources);
    }
  }

  /**
   * One policy file of a bundle.
   *
   * @param path relative to the bundle directory, {@code /}-separated
   * @param sha256 lowercase hex SHA-256 of the file's bytes
   * @param kind {@code AuthorizationPolicy} or {@code RequestAuthentication}
   * @param policy {@code namespace/name}
   */
  public record FileEntry(String path, String sha256, String kind, String policy) {
    public FileEntry {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(sha256, "sha256");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(policy, "policy");
    }
  }

  /** One source file the bundle was made from: its path as given, and the SHA-256 of its bytes. */
  public record SourceEntry(String path, String sha256) {
    public SourceEntry {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(sha256, "sha256");
    }
  }

  /**
   * A bundle that passed every check.
   *
   * @param manifest what it says about itself
   * @param policies its policies, validated
   * @param signed true when its signature was checked against a trusted key
   */
  public record Verified(Manifest manifest, PolicySet policies, boolean signed) {
    public Verified {
      Objects.requireNonNull(manifest, "manifest");
      Objects.requireNonNull(policies, "policies");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  /**
   * Writes {@code set} as a bundle at {@code out}, built in a sibling directory and moved into
   * place, so that a reader never sees half a bundle. An existing bundle at {@code out} is
   * replaced; an existing directory that is not empty and not a bundle is refused.
   *
   * @param sources the files and directories the set was loaded from (their policy files are
   *     digested into the manifest, found as {@link PolicyLoader} finds them)
   * @param signingKey an ECDSA P-256 private key, or null for an unsigned bundle
   * @throws ConfigException when a source cannot be read, the key is not ECDSA P-256 or not
   *     allowed in the crypto mode, or the bundle cannot be written
   */
  public static Manifest write(PolicySet set, List<Path> sources, Path out, PrivateKey signingKey, Crypto crypto,
      Clock clock) throws ConfigException {
    Objects.requireNonNull(set, "set");
    Objects.requireNonNull(sources, "sources");
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    if (signingKey != null) {
      requireP256(signingKey);
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    List<FileEntry> entries = new ArrayList<>();
    for (AuthorizationPolicy p : set.authorizationPolicies()) {
      String path = POLICIES_DIR + "/" + fileSegment(p.namespace()) + "/AuthorizationPolicy-" + fileSegment(p.name())
          + ".json";
      addFile(files, entries, path, json(PolicyResources.resource(p)), "AuthorizationPolicy", p.ref());
    }
    for (RequestAuthentication r : set.requestAuthentications()) {
      String path = POLICIES_DIR + "/" + fileSegment(r.namespace()) + "/RequestAuthentication-" + fileSegment(r.name())
          + ".json";
      addFile(files, entries, path, json(PolicyResources.resource(r)), "RequestAuthentication", r.ref());
    }
    entries.sort(Comparator.comparing(FileEntry::path));
    List<SourceEntry> sourceEntries = new ArrayList<>();
    for (Path source : PolicyFiles.list(sources)) {
      sourceEntries.add(new SourceEntry(slashes(source), sha256Hex(readBytes(source, PolicyLoader.MAX_FILE_BYTES))));
    }
    Manifest manifest = new Manifest(FORMAT, set.revision(),
        clock.now().truncatedTo(ChronoUnit.SECONDS).toString(), Version.current(), entries, sourceEntries);
    byte[] manifestBytes = json(manifestNode(manifest));
    byte[] signature = signingKey == null ? null
        : (Base64.getEncoder().encodeToString(crypto.sign(KEY_SETTING, SIGNATURE_ALGORITHM, signingKey, manifestBytes))
            + "\n").getBytes(StandardCharsets.US_ASCII);
    publish(out, files, manifestBytes, signature);
    return manifest;
  }

  private static void addFile(Map<String, byte[]> files, List<FileEntry> entries, String path, byte[] content,
      String kind, String policy) {
    // Names are DNS labels and subdomains in Kubernetes, so the segments never collide; but a
    // set built by hand may hold anything, and a silent overwrite would lose a policy.
    if (files.putIfAbsent(path, content) != null) {
      throw new IllegalArgumentException("two policies map to the bundle file " + path);
    }
    entries.add(new FileEntry(path, sha256Hex(content), kind, policy));
  }

  /**
   * A namespace or name as one path segment: letters, digits, {@code -}, {@code _} and {@code .}
   * as they are (Kubernetes names use nothing else), anything else and a leading dot as
   * {@code %XX} of its UTF-8 bytes, so no name can climb out of its directory or hide as a dot file.
   */
  static String fileSegment(String name) {
    StringBuilder sb = new StringBuilder();
    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      int b = bytes[i] & 0xff;
      boolean plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-'
          || b == '_' || (b == '.' && i > 0);
      if (plain) {
        sb.append((char) b);
      } else {
        sb.append('%').append(String.format(Locale.ROOT, "%02X", b));
      }
    }
    return sb.isEmpty() ? "%" : sb.toString();
  }

  private static ObjectNode manifestNode(Manifest m) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("format", m.format());
    node.put("revision", m.revision());
    node.put("created_at", m.createdAt());
    node.put("compiler_version", m.compilerVersion());
    node.put("signature_algorithm", SIGNATURE_ALGORITHM);
    ArrayNode files = node.putArray("files");
    for (FileEntry f : m.files()) {
      files.addObject().put("path", f.path()).put("sha256", f.sha256()).put("kind", f.kind()).put("policy", f.policy());
    }
    ArrayNode sources = node.putArray("sources");
    for (SourceEntry s : m.sources()) {
      sources.addObject().put("path", s.path()).put("sha256", s.sha256());
    }
    return node;
  }

  /** Pretty JSON with {@code \n} line ends on every platform, ending in a newline: byte-stable. */
  static byte[] json(JsonNode node) {
    DefaultPrettyPrinter printer = new DefaultPrettyPrinter(
        Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
        .withObjectIndenter(new DefaultIndenter("  ", "\n"))
        .withArrayIndenter(new DefaultIndenter("  ", "\n"));
    try {
      return (JSON.writer(printer).writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serialises", e);
    }
  }

  private static void publish(Path out, Map<String, byte[]> files, byte[] manifest, byte[] signature)
      throws ConfigException {
    Path target = out.toAbsolutePath().normalize();
    Path parent = target.getParent();
    if (parent == null) {
      throw error(out, "cannot write a bundle at the file system root");
    }
    boolean replace = false;
    if (Files.exists(target)) {
      if (!Files.isDirectory(target)) {
        throw error(out, "exists and is not a directory; refusing to overwrite it");
      }
      replace = Files.exists(target.resolve(MANIFEST));
      if (!replace && !isEmptyDirectory(target)) {
        throw error(out, "is a directory that is not empty and holds no bundle (no " + MANIFEST
            + "); refusing to write into it");
      }
    }
    Path staging = null;
    try {
      Files.createDirectories(parent);
      staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".new-");
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        Path path = staging.resolve(file.getKey());
        Files.createDirectories(path.getParent());
        Files.write(path, file.getValue());
      }
      Files.write(staging.resolve(MANIFEST), manifest);
      if (signature != null) {
        Files.write(staging.resolve(SIGNATURE), signature);
      }
      // createTempDirectory made it 0700; a bundle is meant to be read by servers.
      Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
      if (replace) {
        Path old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old-");
        Files.delete(old);
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
      } else {
        if (Files.exists(target)) {
          Files.delete(target); // empty, checked above
        }
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      }
      staging = null;
    } catch (IOException | UncheckedIOException | UnsupportedOperationException e) {
      throw error(out, "cannot write the bundle: " + e.getMessage());
    } finally {
      if (staging != null) {
        deleteTree(staging);
      }
    }
  }

  private static boolean isEmptyDirectory(Path dir) throws ConfigException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    } catch (IOException e) {
      throw error(dir, "cannot list the directory: " + e.getMessage());
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      // Best effort: a leftover staging directory is a dot directory beside the bundle, never read.
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Loading and verifying

  /**
   * The policies of the bundle at {@code dir}, after every check (see the class comment). What
   * the authz server calls.
   *
   * @param trusted the key bundles must be signed with; null accepts unsigned bundles (and does
   *     not check a signature that is present)
   * @throws ConfigException with every reason the bundle is refused, each naming the file
   */
  public static PolicySet load(Path dir, PublicKey trusted) throws ConfigException {
    return verify(dir, trusted, null).policies();
  }

  /**
   * As {@link #load}, returning the manifest too.
   *
   * @param crypto verifies the signature through the mode's provider; null uses the JCA's
   *     provider order (which {@link Crypto#install} puts the FIPS module first in, in FIPS mode)
   */
  public static Verified verify(Path dir, PublicKey trusted, Crypto crypto) throws ConfigException {
    Objects.requireNonNull(dir, "dir");
    if (trusted != null) {
      requireP256(trusted);
    }
    Path manifestFile = dir.resolve(MANIFEST);
    if (!Files.isDirectory(dir)) {
      throw error(dir, Files.exists(dir) ? "not a directory; a policy bundle is a directory" : "no such directory");
    }
    byte[] manifestBytes = readBytes(manifestFile, MAX_MANIFEST_BYTES);
    List<ConfigError> errors = new ArrayList<>();
    boolean signed = false;
    if (trusted != null) {
      signed = checkSignature(dir, manifestBytes, trusted, crypto, errors);
    }
    Manifest manifest;
    try {
      manifest = parseManifest(manifestFile, manifestBytes);
    } catch (ConfigException e) {
      errors.addAll(e.errors());
      throw new ConfigException(errors);
    }

    List<AuthorizationPolicy> policies = new ArrayList<>();
    List<RequestAuthentication> authentications = new ArrayList<>();
    List<ConfigError> warnings = new ArrayList<>();
    Set<String> listed = new LinkedHashSet<>();
    for (FileEntry entry : manifest.files()) {
      Path file = dir.resolve(entry.path());
      if (!listed.add(entry.path())) {
        errors.add(fileError(manifestFile, "lists " + entry.path() + " twice"));
        continue;
      }
      byte[] bytes;
      try {
        bytes = readBytes(file, PolicyLoader.MAX_FILE_BYTES);
      } catch (ConfigException e) {
        errors.add(fileError(file, "is listed in the manifest but cannot be read: "
            + e.errors().get(0).message()));
        continue;
      }
      String actual = sha256Hex(bytes);
      if (!actual.equals(entry.sha256())) {
        errors.add(fileError(file, "SHA-256 digest differs from the manifest (manifest " + entry.sha256()
            + ", file " + actual + "): the file was changed after the bundle was made"));
        continue;
      }
      PolicySet one;
      try {
        one = PolicyLoader.parse(file.toString(), new String(bytes, StandardCharsets.UTF_8));
      } catch (ConfigException e) {
        errors.addAll(e.errors());
        continue;
      }
      if (!holdsExactly(one, entry)) {
        errors.add(fileError(file, "the manifest says it holds " + entry.kind() + " " + entry.policy()
            + ", but it holds " + describe(one)));
        continue;
      }
      policies.addAll(one.authorizationPolicies());
      authentications.addAll(one.requestAuthentications());
      warnings.addAll(one.warnings());
    }
    unlistedFiles(dir, listed, errors);
    if (errors.isEmpty()) {
      policies.sort(Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name));
      authentications.sort(
          Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name));
      checkUnique(manifestFile, policies, authentications, errors);
      String revision = PolicyDigest.revision(policies, authentications);
      if (errors.isEmpty() && !revision.equals(manifest.revision())) {
        errors.add(fileError(manifestFile, "revision " + manifest.revision() + " is not the digest of the policies"
            + " in the bundle (" + revision + ")"));
      }
      if (errors.isEmpty()) {
        return new Verified(manifest, new PolicySet(policies, authentications, revision, warnings, List.of()), signed);
      }
    }
    throw new ConfigException(errors);
  }

  private static boolean checkSignature(Path dir, byte[] manifestBytes, PublicKey trusted, Crypto crypto,
      List<ConfigError> errors) throws ConfigException {
    Path signatureFile = dir.resolve(SIGNATURE);
    if (!Files.exists(signatureFile)) {
      errors.add(fileError(signatureFile, "missing: the bundle is not signed, and a trusted key is configured;"
          + " sign it with meshguard policy bundle --key"));
      return false;
    }
    byte[] signature;
    try {
      signature = Base64.getDecoder().decode(new String(readBytes(signatureFile, 4096), StandardCharsets.US_ASCII)
          .strip());
    } catch (IllegalArgumentException e) {
      errors.add(fileError(signatureFile, "is not base64: " + e.getMessage()));
      return false;
    }
    boolean valid;
    try {
      if (crypto != null) {
        valid = crypto.verify(SIGNATURE_ALGORITHM, trusted, manifestBytes, signature);
      } else {
        Signature verifier = Signature.getInstance(SIGNATURE_ALGORITHM);
        verifier.initVerify(trusted);
        verifier.update(manifestBytes);
        valid = verifier.verify(signature);
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      // A malformed DER signature is reported by some providers as an exception, by others as false.
      valid = false;
    }
    if (!valid) {
      errors.add(fileError(dir.resolve(MANIFEST), "the signature in " + SIGNATURE + " does not verify with the"
          + " trusted key " + keyId(trusted) + ": the manifest was changed after signing, or another key signed it"));
    }
    return valid;
  }

  private static Manifest parseManifest(Path file, byte[] bytes) throws ConfigException {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw error(file, "not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw error(file, "not valid JSON: " + e.getMessage());
    }
    List<ConfigError> errors = new ArrayList<>();
    if (root == null || !root.isObject()) {
      throw error(file, "must be a JSON object");
    }
    String format = text(root, "format", file, errors);
    if (format != null && !format.equals(FORMAT)) {
      errors.add(new ConfigError(file.toString(), 0, 0, "format", "is \"" + format + "\"; this meshguard reads "
          + FORMAT));
      throw new ConfigException(errors);
    }
    String revision = text(root, "revision", file, errors);
    String createdAt = text(root, "created_at", file, errors);
    String version = text(root, "compiler_version", file, errors);
    String algorithm = text(root, "signature_algorithm", file, errors);
    if (algorithm != null && !algorithm.equals(SIGNATURE_ALGORITHM)) {
      errors.add(new ConfigError(file.toString(), 0, 0, "signature_algorithm", "is \"" + algorithm
          + "\"; bundles are signed with " + SIGNATURE_ALGORITHM));
    }
    List<FileEntry> files = new ArrayList<>();
    JsonNode fileNodes = root.get("files");
    if (fileNodes == null || !fileNodes.isArray()) {
      errors.add(new ConfigError(file.toString(), 0, 0, "files", "must be a list"));
    } else {
      for (int i = 0; i < fileNodes.size(); i++) {
        JsonNode f = fileNodes.get(i);
        String at = "files[" + i + "]";
        String path = text(f, "path", file, errors, at);
        String sha = text(f, "sha256", file, errors, at);
        String kind = text(f, "kind", file, errors, at);
        String policy = text(f, "policy", file, errors, at);
        if (path != null && !safePath(path)) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".path", "\"" + path + "\" is not a file under "
              + POLICIES_DIR + "/ (no absolute paths, no .. or dot files)"));
          path = null;
        }
        if (sha != null && !SHA256_HEX.matcher(sha).matches()) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".sha256", "must be 64 lowercase hex digits"));
          sha = null;
        }
        if (kind != null && !kind.equals("AuthorizationPolicy") && !kind.equals("RequestAuthentication")) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".kind",
              "must be AuthorizationPolicy or RequestAuthentication"));
          kind = null;
        }
        if (path != null && sha != null && kind != null && policy != null) {
          files.add(new FileEntry(path, sha, kind, policy));
        }
      }
    }
    List<SourceEntry> sources = new ArrayList<>();
    JsonNode sourceNodes = root.get("sources");
    if (sourceNodes != null && sourceNodes.isArray()) {
      for (int i = 0; i < sourceNodes.size(); i++) {
        String at = "sources[" + i + "]";
        String path = text(sourceNodes.get(i), "path", file, errors, at);
        String sha = text(sourceNodes.get(i), "sha256", file, errors, at);
        if (path != null && sha != null) {
          sources.add(new SourceEntry(path, sha));
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return new Manifest(format, revision, createdAt, version, files, sources);
  }

  private static String text(JsonNode node, String field, Path file, List<ConfigError> errors) {
    return text(node, field, file, errors, "");
  }

  private static String text(JsonNode node, String field, Path file, List<ConfigError> errors, String at) {
    String path = at.isEmpty() ? field : at + "." + field;
    JsonNode value = node == null ? null : node.get(field);
    if (value == null || !value.isTextual()) {
      errors.add(new ConfigError(file.toString(), 0, 0, path, "must be a string"));
      return null;
    }
    return value.textValue();
  }

  /** {@code policies/SEGMENT/SEGMENT...}: relative, no {@code ..}, no dot files, {@code /} only. */
  static boolean safePath(String path) {
    String[] parts = path.split("/", -1);
    if (parts.length < 2 || !parts[0].equals(POLICIES_DIR)) {
      return false;
    }
    for (String part : parts) {
      if (!SEGMENT.matcher(part).matches()) {
        return false;
      }
    }
    return true;
  }

  private static boolean holdsExactly(PolicySet one, FileEntry entry) {
    if (entry.kind().equals("AuthorizationPolicy")) {
      return one.authorizationPolicies().size() == 1 && one.requestAuthentications().isEmpty()
          && one.authorizationPolicies().get(0).ref().equals(entry.policy());
    }
    return one.requestAuthentications().size() == 1 && one.authorizationPolicies().isEmpty()
        && one.requestAuthentications().get(0).ref().equals(entry.policy());
  }

  private static String describe(PolicySet one) {
    List<String> parts = new ArrayList<>();
    one.authorizationPolicies().forEach(p -> parts.add("AuthorizationPolicy " + p.ref()));
    one.requestAuthentications().forEach(r -> parts.add("RequestAuthentication " + r.ref()));
    return parts.isEmpty() ? "no policy" : String.join(", ", parts);
  }

  private static void checkUnique(Path manifest, List<AuthorizationPolicy> policies,
      List<RequestAuthentication> authentications, List<ConfigError> errors) {
    Set<String> seen = new LinkedHashSet<>();
    for (AuthorizationPolicy p : policies) {
      if (!seen.add("AuthorizationPolicy " + p.ref())) {
        errors.add(fileError(manifest, "lists AuthorizationPolicy " + p.ref() + " in two files"));
      }
    }
    for (RequestAuthentication r : authentications) {
      if (!seen.add("RequestAuthentication " + r.ref())) {
        errors.add(fileError(manifest, "lists RequestAuthentication " + r.ref() + " in two files"));
      }
    }
  }

  /** A file the manifest does not name could only have been added after signing. */
  private static void unlistedFiles(Path dir, Set<String> listed, List<ConfigError> errors) {
    Path policies = dir.resolve(POLICIES_DIR);
    if (!Files.isDirectory(policies)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(policies)) {
      for (Path file : walk.filter(p -> !Files.isDirectory(p)).sorted().toList()) {
        String relative = slashes(dir.relativize(file));
        if (!listed.contains(relative)) {
          errors.add(fileError(file, "is not named in the manifest: it was added after the bundle was made"));
        }
      }
    } catch (IOException | UncheckedIOException e) {
      errors.add(fileError(policies, "cannot list the directory: " + e.getMessage()));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Keys

  /** A new ECDSA P-256 key pair from the mode's provider (the FIPS module's DRBG in FIPS mode). */
  public static KeyPair generateKey(Crypto crypto) throws ConfigException {
    return crypto.generateKeyPair(KEY_SETTING, KeyAlgorithm.ECDSA_P256);
  }

  /**
   * Writes the private key as PKCS#8 PEM to {@code privateKeyFile}, created 0600 before any key
   * byte is written, and its public half (SubjectPublicKeyInfo PEM, 0644) to
   * {@link #publicKeyFile}. Refuses to overwrite either.
   */
  public static void writeKeyPair(KeyPair pair, Path privateKeyFile) throws ConfigException {
    Path publicFile = publicKeyFile(privateKeyFile);
    for (Path file : List.of(privateKeyFile, publicFile)) {
      if (Files.exists(file)) {
        throw error(file, "exists already; refusing to overwrite it");
      }
    }
    writeNew(privateKeyFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()), KEY_MODE);
    writeNew(publicFile, pem("PUBLIC KEY", pair.getPublic().getEncoded()), PUBLIC_MODE);
  }

  /** {@code key.pem} → {@code key.pub.pem}. */
  public static Path publicKeyFile(Path privateKeyFile) {
    String name = privateKeyFile.getFileName().toString();
    String base = name.endsWith(".pem") ? name.substring(0, name.length() - 4) : name;
    return privateKeyFile.resolveSibling(base + ".pub.pem");
  }

  /**
   * Reads a signing key (PKCS#8 {@code PRIVATE KEY} or SEC1 {@code EC PRIVATE KEY}, as
   * {@code openssl ecparam -name prime256v1 -genkey} writes) and checks it is ECDSA P-256.
   */
  public static PrivateKey readPrivateKey(Crypto crypto, Path file) throws ConfigException {
    PrivateKey key = PemFiles.readPrivateKey(crypto, file);
    if (!isP256(key)) {
      throw error(file, "bundle signing keys must be ECDSA P-256; this is a " + key.getAlgorithm() + " key"
          + " (make one with meshguard policy keygen, or openssl ecparam -name prime256v1 -genkey -noout)");
    }
    return key;
  }

  /** Reads a trusted key: a PEM SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}), ECDSA P-256. */
  public static PublicKey readPublicKey(Crypto crypto, Path file) throws ConfigException {
    byte[] content = readBytes(file, 64 * 1024);
    Object object;
    try (Reader reader = new StringReader(new String(content, StandardCharsets.US_ASCII));
         PEMParser parser = new PEMParser(reader)) {
      object = parser.readObject();
    } catch (IOException | RuntimeException e) {
      throw error(file, "malformed PEM: " + e.getMessage());
    }
    if (!(object instanceof SubjectPublicKeyInfo info)) {
      throw error(file, object == null ? "no PEM block found (expected -----BEGIN PUBLIC KEY-----)"
          : "holds " + object.getClass().getSimpleName() + ", expected a PUBLIC KEY block");
    }
    PublicKey key;
    try {
      key = crypto.keyFactory("EC").generatePublic(new X509EncodedKeySpec(info.getEncoded()));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw error(file, "not an EC public key: " + e.getMessage());
    }
    if (KeyAlgorithm.of(key).orElse(null) != KeyAlgorithm.ECDSA_P256) {
      throw error(file, "bundle keys must be ECDSA P-256; this is " + KeyAlgorithm.describe(key));
    }
    return key;
  }

  /** The first 16 hex digits of SHA-256 over the key's SubjectPublicKeyInfo, as audit checkpoints name keys. */
  public static String keyId(PublicKey key) {
    return sha256Hex(key.getEncoded()).substring(0, 16);
  }

  private static void requireP256(PrivateKey key) {
    if (!isP256(key)) {
      throw new IllegalArgumentException("bundle signing keys must be ECDSA P-256, not " + key.getAlgorithm());
    }
  }

  private static void requireP256(PublicKey key) {
    if (KeyAlgorithm.of(key).orElse(null) != KeyAlgorithm.ECDSA_P256) {
      throw new IllegalArgumentException("trusted bundle keys must be ECDSA P-256, not " + KeyAlgorithm.describe(key));
    }
  }

  private static boolean isP256(PrivateKey key) {
    return key instanceof ECPrivateKey ec && ec.getParams().getCurve().getField().getFieldSize() == 256
        && ec.getParams().getOrder().equals(P256_ORDER);
  }

  private static byte[] pem(String type, byte[] der) {
    return ("-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n").getBytes(StandardCharsets.US_ASCII);
  }

  private static void writeNew(Path file, byte[] content, Set<PosixFilePermission> mode) throws ConfigException {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.createFile(file, PosixFilePermissions.asFileAttribute(mode));
      // The umask may have narrowed the mode at creation; set it exactly.
      Files.setPosixFilePermissions(file, mode);
      try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(content);
      }
    } catch (FileAlreadyExistsException e) {
      throw error(file, "exists already; refusing to overwrite it");
    } catch (IOException | UnsupportedOperationException e) {
      throw error(file, "cannot write: " + e);
    } finally {
      java.util.Arrays.fill(content, (byte) 0);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  private static byte[] readBytes(Path file, long max) throws ConfigException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
      if (bytes.length > max) {
        throw error(file, "is larger than " + max + " bytes");
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw error(file, "no such file");
    } catch (AccessDeniedException e) {
      throw error(file, "permission denied");
    } catch (IOException e) {
      throw error(file, "cannot read: " + e.getMessage());
    }
  }

  private static String slashes(Path path) {
    return path.toString().replace(path.getFileSystem().getSeparator(), "/");
  }

  private static ConfigError fileError(Path file, String message) {
    return new ConfigError(file.toString(), 0, 0, "", message);
  }

  private static ConfigException error(Path file, String message) {
    return new ConfigException(fileError(file, message));
  }
}

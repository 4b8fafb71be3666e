package dev.meshguard.ca;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.PemFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * The roots of a CA that meshguard created and rotates, persisted in its directory:
 *
 * <pre>
 * DIR/
 *   roots/1/  ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem  jwt-key.pem jwt-public-key.pem
 *   roots/2/  ...                                  (one directory per root, numbered in minting order)
 *   ca-cert.pem ca-key.pem cert-chain.pem          the root that signs now (Istio's layout)
 *   root-cert.pem                                  every root in the bundle (the mesh's trust anchors)
 * </pre>
 *
 * Each {@code roots/<n>/} is Istio's plugged-in layout plus the root's JWT-SVID key; keys are
 * written 0600. A minted root is written (to a temporary directory, then renamed) before it is
 * published, so a root that ever entered the bundle is on disk; a dropped root's directory is
 * deleted. The top-level files mirror the current state after every change, so the offline tools
 * ({@code meshguard ca issue|bundle}), istiod sharing the directory, and the CA server's own TLS
 * trust (which polls {@code root-cert.pem}) all follow the rotation.
 *
 * <p>At start {@link #open} rebuilds the rotation's schedule from the certificates' dates alone
 * ({@link RootRotation#restore}): no other state is kept, so there is nothing else to get out of
 * step. A directory with a {@code roots/} subdirectory is managed this way; one with only the
 * Istio files is a plugged-in CA (see {@code CaServer}).
 */
public final class RootStore implements RootRotation.Journal {
  private static final Logger LOG = Logger.getLogger(RootStore.class.getName());
  /** The subdirectory that holds the roots; its presence marks a CA meshguard rotates. */
  public static final String ROOTS = "roots";
  static final String JWT_KEY = "jwt-key.pem";
  static final String JWT_PUBLIC_KEY = "jwt-public-key.pem";
  private static final Pattern INDEX = Pattern.compile("[1-9][0-9]{0,8}");
  private static final Pattern TEMPORARY = Pattern.compile("\\.[1-9][0-9]{0,8}\\.tmp");

  private final Crypto crypto;
  private final Path dir;
  private final Path rootsDir;
  /** The directory index of every authority on disk, by signing certificate; under the tick lock. */
  private final Map<X509Certificate, Integer> indexes = new HashMap<>();
  /** The highest index ever on disk here: a new root takes the next, never a dropped one's. */
  private int highest;

  private RootStore(Crypto crypto, Path dir) {
    this.crypto = crypto;
    this.dir = dir;
    this.rootsDir = dir.resolve(ROOTS);
  }

  /** Whether {@code dir} holds a CA meshguard manages (it has a {@value #ROOTS} subdirectory). */
  public static boolean isManaged(Path dir) {
    return Files.isDirectory(dir.resolve(ROOTS));
  }

  /** Whether {@code dir} holds any file of a CA in Istio's layout, or a {@value #ROOTS} subdirectory. */
  public static boolean holdsCa(Path dir) {
    if (isManaged(dir)) {
      return true;
    }
    for (String name : CaDirectory.FILES) {
      if (Files.exists(dir.resolve(name))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Creates a managed CA in {@code dir}, which must hold none: a self-signed root (its only SAN
   * {@code spiffe://td}) as {@code roots/1/}, with a JWT key, and mirrored at the top.
   *
   * @throws ConfigException when {@code dir} holds a CA already, the trust domain is invalid, the
   *     key type is refused in this crypto mode, or a file cannot be written
   */
  public static CertificateAuthority init(Crypto crypto, Clock clock, Path dir, String trustDomain,
      KeyAlgorithm keyAlgorithm, KeyAlgorithm jwtKeyAlgorithm, CaOptions options) throws ConfigException {
    Objects.requireNonNull(dir, "dir");
    CaDirectory.requireEmpty(dir);
    if (isManaged(dir)) {
      throw CaDirectory.error(dir.resolve(ROOTS), "a CA exists already in " + dir + "; refusing to overwrite it"
          + " (move the directory away to start a new CA)");
    }
    CertificateAuthority ca = CertificateAuthority.selfSigned(crypto, clock, trustDomain, keyAlgorithm, options);
    JwtSigningKey jwtKey = JwtSigningKey.generate(crypto, jwtKeyAlgorithm);
    RootStore store = new RootStore(crypto, dir);
    store.writeRoot(1, ca, jwtKey);
    TrustBundle.Authority authority = new TrustBundle.Authority(ca, jwtKey, clock.now(), clock.now(), null, null);
    store.writeMirror(new TrustBundle(ca.trustDomain(), 1, List.of(authority), authority));
    LOG.info(() -> "created a " + keyAlgorithm + " root CA for trust domain " + ca.trustDomain() + " in " + dir
        + ", serial " + ca.signingCertificate().getSerialNumber().toString(16) + ", valid until "
        + ca.signingCertificate().getNotAfter().toInstant());
    return ca;
  }

  /**
   * The rotation of the managed CA in {@code dir}, created there first when the directory holds
   * no CA; its schedule rebuilt from the roots' certificates at the clock's now, the top-level
   * files rewritten to match, and the directories of roots dropped meanwhile deleted. New roots
   * are {@code keyType} roots of {@code caOptions}, persisted before they are published.
   *
   * @param sequence the {@code spiffe_sequence} to start from (e.g. the time in seconds, so it
   *     grows from one run to the next)
   * @throws ConfigException naming the file or setting: a directory holding a plugged-in CA (no
   *     {@value #ROOTS}), a root that does not load, top-level files that are not one of the roots,
   *     periods that do not fit the root validity
   */
  public static RootRotation open(Crypto crypto, Clock clock, Path dir, String trustDomain, KeyAlgorithm keyType,
      CaOptions caOptions, RootRotation.Options rotationOptions, long sequence) throws ConfigException {
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(caOptions, "caOptions");
    Objects.requireNonNull(rotationOptions, "rotationOptions");
    if (!holdsCa(dir)) {
      init(crypto, clock, dir, trustDomain, keyType, rotationOptions.jwtKeyAlgorithm(), caOptions);
    } else if (!isManaged(dir)) {
      throw CaDirectory.error(dir, "holds a plugged-in CA (no " + ROOTS + "/ directory); it is not rotated here");
    }
    RootStore store = new RootStore(crypto, dir);
    TreeMap<Integer, RootRotation.Stored> stored = store.load(clock, trustDomain, caOptions,
        rotationOptions.jwtKeyAlgorithm());
    store.requireMirrorOfARoot(stored);
    RootRotation rotation = RootRotation.restore(crypto, clock, new ArrayList<>(stored.values()),
        stored.firstKey() == 1, rotationOptions,
        () -> CertificateAuthority.selfSigned(crypto, clock, trustDomain, keyType, caOptions), store, sequence);
    TrustBundle current = rotation.current();
    store.writeMirror(current);
    store.deleteDropped(current);
    LOG.info(() -> "loaded " + current.authorities().size() + " root(s) of " + current.trustDomain() + " from "
        + store.rootsDir + "; " + current.active().ca() + " signs"
        + (rotation.nextTransition() == null ? "" : "; next rotation step at " + rotation.nextTransition()));
    return rotation;
  }

  /** Every root in {@code roots/}, by index; leftovers of an interrupted write are removed. */
  private TreeMap<Integer, RootRotation.Stored> load(Clock clock, String trustDomain, CaOptions caOptions,
      KeyAlgorithm jwtKeyAlgorithm) throws ConfigException {
    TreeMap<Integer, RootRotation.Stored> stored = new TreeMap<>();
    List<Path> entries;
    try (Stream<Path> list = Files.list(rootsDir)) {
      entries = list.sorted().toList();
    } catch (IOException e) {
      throw CaDirectory.error(rootsDir, "cannot list: " + e);
    }
    for (Path entry : entries) {
      String name = entry.getFileName().toString();
      if (TEMPORARY.matcher(name).matches()) {
        // A root whose writing was interrupted: it was never published, so nothing trusts it.
        LOG.warning(() -> "removing " + entry + ", a root whose writing was interrupted (never published)");
        try {
          deleteDirectory(entry);
        } catch (IOException e) {
          throw CaDirectory.error(entry, "cannot remove a root whose writing was interrupted: " + e);
        }
        continue;
      }
      if (!INDEX.matcher(name).matches() || !Files.isDirectory(entry)) {
        throw CaDirectory.error(entry, "is not a root directory; " + rootsDir + " holds only directories named 1, 2, ...");
      }
      int index = Integer.parseInt(name);
      // The configured trust domain is checked against every root's SPIFFE ID here.
      CertificateAuthority ca = CertificateAuthority.load(crypto, clock, entry, trustDomain, caOptions);
      stored.put(index, new RootRotation.Stored(ca, jwtKey(entry, jwtKeyAlgorithm)));
      indexes.put(ca.signingCertificate(), index);
      highest = Math.max(highest, index);
    }
    if (stored.isEmpty()) {
      throw CaDirectory.error(rootsDir, "holds no root; restore it from a backup, or move " + dir
          + " away to start a new CA");
    }
    return stored;
  }

  /** The JWT key persisted beside a root; one is made and written when there is none. */
  private JwtSigningKey jwtKey(Path rootDir, KeyAlgorithm algorithm) throws ConfigException {
    Path keyFile = rootDir.resolve(JWT_KEY);
    Path publicFile = rootDir.resolve(JWT_PUBLIC_KEY);
    if (!Files.exists(keyFile) && !Files.exists(publicFile)) {
      JwtSigningKey key = JwtSigningKey.generate(crypto, algorithm);
      writeJwtKey(rootDir, key);
      LOG.info(() -> rootDir + " had no JWT-SVID key; made " + key);
      return key;
    }
    PrivateKey privateKey = PemFiles.readPrivateKey(crypto, keyFile);
    PublicKey publicKey = readPublicKey(publicFile);
    JwtSigningKey key;
    try {
      key = JwtSigningKey.of(crypto, new KeyPair(publicKey, privateKey));
    } catch (IllegalArgumentException e) {
      throw CaDirectory.error(publicFile, e.getMessage());
    }
    byte[] probe = "meshguard JWT key check".getBytes(StandardCharsets.US_ASCII);
    boolean matches;
    try {
      String algorithmName = key.keyAlgorithm().signatureAlgorithm();
      matches = crypto.verify(algorithmName, publicKey, probe, crypto.sign(JwtSigningKey.SETTING, algorithmName,
          privateKey, probe));
    } catch (ConfigException | GeneralSecurityException | RuntimeException e) {
      matches = false;
    }
    if (!matches) {
      throw CaDirectory.error(keyFile, "is not the private key of " + publicFile.getFileName());
    }
    return key;
  }

  private PublicKey readPublicKey(Path file) throws ConfigException {
    String text;
    try {
      if (Files.size(file) > PemFiles.MAX_FILE_BYTES) {
        throw CaDirectory.error(file, "is larger than " + PemFiles.MAX_FILE_BYTES + " bytes");
      }
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw CaDirectory.error(file, "cannot read: " + e);
    }
    String begin = "-----BEGIN PUBLIC KEY-----";
    String end = "-----END PUBLIC KEY-----";
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from < 0 || to < from) {
      throw CaDirectory.error(file, "holds no PUBLIC KEY block");
    }
    try {
      byte[] der = Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
      boolean ec = SubjectPublicKeyInfo.getInstance(der).getAlgorithm().getAlgorithm()
          .equals(X9ObjectIdentifiers.id_ecPublicKey);
      return crypto.keyFactory(ec ? "EC" : "RSA").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw CaDirectory.error(file, "is not a valid public key: " + e.getMessage());
    }
  }

  /** The top-level signing certificate, when there is one, must be one of the roots: else these are not our files. */
  private void requireMirrorOfARoot(Map<Integer, RootRotation.Stored> stored) throws ConfigException {
    Path certFile = dir.resolve(CaDirectory.CA_CERT);
    if (!Files.exists(certFile)) {
      return;
    }
    List<X509Certificate> top = PemFiles.readCertificates(crypto, certFile);
    for (RootRotation.Stored root : stored.values()) {
      if (top.contains(root.ca().signingCertificate())) {
        return;
      }
    }
    throw CaDirectory.error(certFile, "is not the certificate of any root in " + rootsDir + "; meshguard rewrites"
        + " these files from " + ROOTS + "/, so it refuses to overwrite them (to plug in this CA instead, move "
        + ROOTS + "/ away)");
  }

  /** Writes a minted root to {@code roots/<next>/} before it is published; throwing keeps it out. */
  @Override
  public void publishing(TrustBundle.Authority authority) throws ConfigException {
    int index = highest + 1;
    writeRoot(index, authority.ca(), authority.jwtKey());
    indexes.put(authority.ca().signingCertificate(), index);
    highest = index;
    LOG.info(() -> "wrote " + authority.ca() + " to " + rootsDir.resolve(Integer.toString(index)));
  }

  /** Mirrors the new state at the top and deletes the directories of dropped roots. */
  @Override
  public void changed(TrustBundle bundle) {
    try {
      writeMirror(bundle);
    } catch (ConfigException e) {
      LOG.log(Level.WARNING, "cannot update the CA files in " + dir + " (the rotation goes on in memory and on "
          + rootsDir + "): " + e.getMessage(), e);
    }
    deleteDropped(bundle);
  }

  private void writeRoot(int index, CertificateAuthority ca, JwtSigningKey jwtKey) throws ConfigException {
    Path temp = rootsDir.resolve("." + index + ".tmp");
    Path target = rootsDir.resolve(Integer.toString(index));
    try {
      Files.createDirectories(rootsDir);
      deleteDirectory(temp);
      if (Files.exists(target)) {
        throw CaDirectory.error(target, "exists already; refusing to overwrite a root");
      }
      String caCert = PemText.certificate(ca.signingCertificate());
      CaDirectory.write(temp, ca.signingKey().getEncoded(), caCert, PemText.certificates(ca.caChain()),
          PemText.certificates(ca.roots()));
      writeJwtKey(temp, jwtKey);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw CaDirectory.error(target, "cannot write the root: " + e);
    }
  }

  private static void writeJwtKey(Path rootDir, JwtSigningKey key) throws ConfigException {
    CaDirectory.writeNew(rootDir.resolve(JWT_KEY),
        PemText.block("PRIVATE KEY", key.privateKey().getEncoded()).getBytes(StandardCharsets.US_ASCII),
        CaDirectory.KEY_MODE);
    CaDirectory.writeNew(rootDir.resolve(JWT_PUBLIC_KEY),
        PemText.block("PUBLIC KEY", key.publicKey().getEncoded()).getBytes(StandardCharsets.US_ASCII),
        CaDirectory.CERT_MODE);
  }

  /** The top-level files: the trust anchors first (so nothing chains to a root not yet trusted), then the signer. */
  private void writeMirror(TrustBundle bundle) throws ConfigException {
    CertificateAuthority active = bundle.active().ca();
    CaDirectory.replace(dir.resolve(CaDirectory.ROOT_CERT),
        PemText.certificates(bundle.x509Authorities()).getBytes(StandardCharsets.US_ASCII), CaDirectory.CERT_MODE);
    CaDirectory.replace(dir.resolve(CaDirectory.CA_KEY),
        PemText.block("PRIVATE KEY", active.signingKey().getEncoded()).getBytes(StandardCharsets.US_ASCII),
        CaDirectory.KEY_MODE);
    CaDirectory.replace(dir.resolve(CaDirectory.CERT_CHAIN),
        PemText.certificates(active.caChain()).getBytes(StandardCharsets.US_ASCII), CaDirectory.CERT_MODE);
    CaDirectory.replace(dir.resolve(CaDirectory.CA_CERT),
        PemText.certificate(active.signingCertificate()).getBytes(StandardCharsets.US_ASCII), CaDirectory.CERT_MODE);
  }

  /** Deletes the directory of every root on disk that is no longer in {@code bundle}: its SVIDs have all expired. */
  private void deleteDropped(TrustBundle bundle) {
    List<X509Certificate> kept = bundle.authorities().stream().map(a -> a.ca().signingCertificate()).toList();
    for (var entry : List.copyOf(indexes.entrySet())) {
      if (kept.contains(entry.getKey())) {
        continue;
      }
      Path rootDir = rootsDir.resolve(Integer.toString(entry.getValue()));
      try {
        deleteDirectory(rootDir);
        indexes.remove(entry.getKey());
        LOG.info(() -> "deleted " + rootDir + ": the root left the bundle");
      } catch (IOException e) {
        LOG.log(Level.WARNING, "cannot delete " + rootDir + ", a root that left the bundle", e);
      }
    }
  }

  private static void deleteDirectory(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      return;
    }
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.toList()) {
        Files.deleteIfExists(file);
      }
    }
    Files.deleteIfExists(directory);
  }
}

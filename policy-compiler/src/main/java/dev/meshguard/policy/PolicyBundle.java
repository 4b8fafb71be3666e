package dev.meshguard.policy;

import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.List;
import java.util.Objects;

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
    return PolicyBundleWriter.write(set, sources, out, signingKey, crypto, clock);
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
    return PolicyBundleReader.verify(dir, trusted, crypto);
  }

  // ---------------------------------------------------------------------------------------------
  // Keys

  /** A new ECDSA P-256 key pair from the mode's provider (the FIPS module's DRBG in FIPS mode). */
  public static KeyPair generateKey(Crypto crypto) throws ConfigException {
    return PolicyBundleKeys.generateKey(crypto);
  }

  /**
   * Writes the private key as PKCS#8 PEM to {@code privateKeyFile}, created 0600 before any key
   * byte is written, and its public half (SubjectPublicKeyInfo PEM, 0644) to
   * {@link #publicKeyFile}. Refuses to overwrite either.
   */
  public static void writeKeyPair(KeyPair pair, Path privateKeyFile) throws ConfigException {
    PolicyBundleKeys.writeKeyPair(pair, privateKeyFile);
  }

  /** {@code key.pem} → {@code key.pub.pem}. */
  public static Path publicKeyFile(Path privateKeyFile) {
    return PolicyBundleKeys.publicKeyFile(privateKeyFile);
  }

  /**
   * Reads a signing key (PKCS#8 {@code PRIVATE KEY} or SEC1 {@code EC PRIVATE KEY}, as
   * {@code openssl ecparam -name prime256v1 -genkey} writes) and checks it is ECDSA P-256.
   */
  public static PrivateKey readPrivateKey(Crypto crypto, Path file) throws ConfigException {
    return PolicyBundleKeys.readPrivateKey(crypto, file);
  }

  /** Reads a trusted key: a PEM SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}), ECDSA P-256. */
  public static PublicKey readPublicKey(Crypto crypto, Path file) throws ConfigException {
    return PolicyBundleKeys.readPublicKey(crypto, file);
  }

  /** The first 16 hex digits of SHA-256 over the key's SubjectPublicKeyInfo, as audit checkpoints name keys. */
  public static String keyId(PublicKey key) {
    return PolicyBundleKeys.keyId(key);
  }
}

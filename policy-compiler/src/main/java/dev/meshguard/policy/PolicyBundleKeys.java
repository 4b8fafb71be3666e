package dev.meshguard.policy;

import static dev.meshguard.policy.PolicyBundle.KEY_SETTING;
import static dev.meshguard.policy.PolicyBundleFiles.error;
import static dev.meshguard.policy.PolicyBundleFiles.readBytes;
import static dev.meshguard.policy.PolicyBundleFiles.sha256Hex;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.tls.PemFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMParser;

/**
 * Bundle signing keys: ECDSA P-256 only, generated through {@link Crypto}, private keys written
 * 0600 and never overwritten, public keys read from PEM SubjectPublicKeyInfo.
 */
final class PolicyBundleKeys {

  private PolicyBundleKeys() {}

  private static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC_MODE = PosixFilePermissions.fromString("rw-r--r--");
  /** The order n of the NIST P-256 group (FIPS 186-5 / SEC 2 secp256r1). */
  private static final BigInteger P256_ORDER =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  static KeyPair generateKey(Crypto crypto) throws ConfigException {
    return crypto.generateKeyPair(KEY_SETTING, KeyAlgorithm.ECDSA_P256);
  }

  static void writeKeyPair(KeyPair pair, Path privateKeyFile) throws ConfigException {
    Path publicFile = publicKeyFile(privateKeyFile);
    for (Path file : List.of(privateKeyFile, publicFile)) {
      if (Files.exists(file)) {
        throw error(file, "exists already; refusing to overwrite it");
      }
    }
    writeNew(privateKeyFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()), KEY_MODE);
    writeNew(publicFile, pem("PUBLIC KEY", pair.getPublic().getEncoded()), PUBLIC_MODE);
  }

  static Path publicKeyFile(Path privateKeyFile) {
    String name = privateKeyFile.getFileName().toString();
    String base = name.endsWith(".pem") ? name.substring(0, name.length() - 4) : name;
    return privateKeyFile.resolveSibling(base + ".pub.pem");
  }

  static PrivateKey readPrivateKey(Crypto crypto, Path file) throws ConfigException {
    PrivateKey key = PemFiles.readPrivateKey(crypto, file);
    if (!isP256(key)) {
      throw error(file, "bundle signing keys must be ECDSA P-256; this is a " + key.getAlgorithm() + " key"
          + " (make one with meshguard policy keygen, or openssl ecparam -name prime256v1 -genkey -noout)");
    }
    return key;
  }

  static PublicKey readPublicKey(Crypto crypto, Path file) throws ConfigException {
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

  static String keyId(PublicKey key) {
    return sha256Hex(key.getEncoded()).substring(0, 16);
  }

  static void requireP256(PrivateKey key) {
    if (!isP256(key)) {
      throw new IllegalArgumentException("bundle signing keys must be ECDSA P-256, not " + key.getAlgorithm());
    }
  }

  static void requireP256(PublicKey key) {
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
}

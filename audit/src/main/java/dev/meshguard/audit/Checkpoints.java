package dev.meshguard.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Signing and checking checkpoints: ECDSA on P-256 with SHA-256 (FIPS-approved; in FIPS mode
 * the JCA resolves to the BCFIPS provider installed first).
 *
 * <p>The signed bytes are the UTF-8 text
 * <pre>
 * meshguard-audit-checkpoint/v1\n
 * head_seq=&lt;decimal&gt;\n
 * head_hash=&lt;64 lowercase hex&gt;\n
 * time=&lt;the event's time, RFC 3339 UTC, 9 fractional digits&gt;\n
 * dropped=&lt;decimal&gt;\n
 * </pre>
 * and the signature is DER, base64 (standard alphabet, padded).
 *
 * <p>The key is a PKCS#8 PEM file written 0600 at first start when none exists; its public half
 * is written beside it ({@code .pub.pem}, SubjectPublicKeyInfo) for verifiers. Keep a copy of the
 * public key away from the log: whoever can rewrite the log and its key can re-sign it.
 */
public final class Checkpoints {
  static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private Checkpoints() {}

  /** The signing key of a log. */
  public record SigningKey(PrivateKey privateKey, PublicKey publicKey, String keyId) {}

  /** The bytes a checkpoint's signature covers. */
  static byte[] signedBytes(long headSeq, String headHash, Instant time, long dropped) {
    return ("meshguard-audit-checkpoint/v1\n"
        + "head_seq=" + headSeq + "\n"
        + "head_hash=" + headHash + "\n"
        + "time=" + EventLine.formatTime(time) + "\n"
        + "dropped=" + dropped + "\n").getBytes(StandardCharsets.UTF_8);
  }

  static AuditEvent.Checkpoint sign(SigningKey key, long headSeq, String headHash, Instant time, long dropped) {
    try {
      Signature signature = Signature.getInstance(SIGNATURE_ALGORITHM);
      signature.initSign(key.privateKey());
      signature.update(signedBytes(headSeq, headHash, time, dropped));
      return new AuditEvent.Checkpoint(headSeq, headHash, dropped, key.keyId(),
          Base64.getEncoder().encodeToString(signature.sign()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign an audit checkpoint with " + SIGNATURE_ALGORITHM, e);
    }
  }

  static boolean verify(PublicKey key, AuditEvent.Checkpoint checkpoint, Instant time) {
    try {
      Signature signature = Signature.getInstance(SIGNATURE_ALGORITHM);
      signature.initVerify(key);
      signature.update(signedBytes(checkpoint.headSeq(), checkpoint.headHash(), time, checkpoint.dropped()));
      return signature.verify(Base64.getDecoder().decode(checkpoint.signature()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Loads the key at {@code file}, or creates one there (0600) with its public half beside it. */
  public static SigningKey loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) {
      return load(file);
    }
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair pair = generator.generateKeyPair();
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      // Created 0600 before any key byte is written, then moved into place atomically.
      Path tmp = Files.createTempFile(parent, ".checkpoint-key", ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      Files.writeString(publicKeyFile(file), pem("PUBLIC KEY", pair.getPublic().getEncoded()));
      return new SigningKey(pair.getPrivate(), pair.getPublic(), keyId(pair.getPublic()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create an ECDSA P-256 checkpoint key", e);
    }
  }

  static SigningKey load(Path file) throws IOException {
    try {
      KeyFactory factory = KeyFactory.getInstance("EC");
      PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(pemBody(file, "PRIVATE KEY")));
      PublicKey publicKey = readPublicKey(publicKeyFile(file));
      if (!(publicKey instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IOException(publicKeyFile(file) + ": the checkpoint key must be ECDSA P-256");
      }
      return new SigningKey(privateKey, publicKey, keyId(publicKey));
    } catch (GeneralSecurityException e) {
      throw new IOException(file + ": not an ECDSA P-256 PKCS#8 private key: " + e.getMessage(), e);
    }
  }

  /** Reads a PEM SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}). */
  public static PublicKey readPublicKey(Path file) throws IOException {
    try {
      return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(pemBody(file, "PUBLIC KEY")));
    } catch (GeneralSecurityException e) {
      throw new IOException(file + ": not an EC public key: " + e.getMessage(), e);
    }
  }

  /** Where the public half of {@code privateKeyFile} lives. */
  public static Path publicKeyFile(Path privateKeyFile) {
    String name = privateKeyFile.getFileName().toString();
    String base = name.endsWith(".pem") ? name.substring(0, name.length() - 4) : name;
    return privateKeyFile.resolveSibling(base + ".pub.pem");
  }

  static String keyId(PublicKey key) {
    return EventLine.sha256Hex(key.getEncoded()).substring(0, 16);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static byte[] pemBody(Path file, String type) throws IOException {
    String text = Files.readString(file);
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from < 0 || to < from) {
      throw new IOException(file + ": no \"" + begin + "\" block");
    }
    try {
      return Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": bad base64 in the PEM block", e);
    }
  }

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}

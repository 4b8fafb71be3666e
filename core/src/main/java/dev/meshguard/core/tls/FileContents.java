package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * One read of the TLS files. Reload decisions compare the SHA-256 of the contents, not
 * modification times: Kubernetes swaps a secret volume by re-pointing a symlink, an editor may
 * keep the mtime, and a copy within the same clock tick looks unchanged; content never lies.
 * Only the digest outlives a reload; the key bytes are wiped once parsed.
 */
final class FileContents {

  private final byte[] certificate; // null when the options have no certificate
  private final byte[] key;
  private final byte[] bundle; // null when the options have no bundle

  private FileContents(byte[] certificate, byte[] key, byte[] bundle) {
    this.certificate = certificate;
    this.key = key;
    this.bundle = bundle;
  }

  static FileContents read(TlsOptions options) throws ConfigException {
    byte[] certificate = options.certFile() == null ? null : PemFiles.read(options.certFile());
    byte[] key = options.keyFile() == null ? null : PemFiles.read(options.keyFile());
    byte[] bundle = options.trustBundleFile() == null ? null : PemFiles.read(options.trustBundleFile());
    return new FileContents(certificate, key, bundle);
  }

  byte[] certificate() {
    return certificate;
  }

  byte[] key() {
    return key;
  }

  byte[] bundle() {
    return bundle;
  }

  /** SHA-256 over the three contents, each length-prefixed so that boundaries cannot shift. */
  byte[] digest() {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
    for (byte[] part : new byte[][] {certificate, key, bundle}) {
      sha256.update(ByteBuffer.allocate(Integer.BYTES).putInt(part == null ? -1 : part.length).array());
      if (part != null) {
        sha256.update(part);
      }
    }
    return sha256.digest();
  }

  /** Overwrites the key bytes; called as soon as the key is parsed or rejected. */
  void wipe() {
    if (key != null) {
      Arrays.fill(key, (byte) 0);
    }
  }

  static String describe(TlsOptions options) {
    StringBuilder sb = new StringBuilder();
    for (Path file : new Path[] {options.certFile(), options.keyFile(), options.trustBundleFile()}) {
      if (file != null) {
        sb.append(sb.isEmpty() ? "" : ", ").append(file);
      }
    }
    return sb.toString();
  }
}

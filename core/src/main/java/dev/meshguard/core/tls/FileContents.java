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

  /** Reads of the files {@link #read(TlsOptions)} makes at most to get two that agree. */
  static final int MAX_READS = 4;

  private final byte[] certificate; // null when the options have no certificate
  private final byte[] key;
  private final byte[] bundle; // null when the options have no bundle

  private FileContents(byte[] certificate, byte[] key, byte[] bundle) {
    this.certificate = certificate;
    this.key = key;
    this.bundle = bundle;
  }

  /**
   * Reads the files as one set. They are separate files, so an update between two of the reads
   * (the kubelet re-pointing {@code ..data}, a deploy renaming new files in) would pair the old
   * certificate with the new key, and the reload would refuse and count a mismatch that no file
   * ever had. So the files are read again until two reads in a row agree, at most {@value
   * #MAX_READS} times; files that keep changing are returned as last read, for the build to judge
   * (the next poll reads them again).
   */
  static FileContents read(TlsOptions options) throws ConfigException {
    return read(options, () -> {});
  }

  /** As {@link #read(TlsOptions)}, running {@code afterCertificate} after each read of the certificate (tests). */
  static FileContents read(TlsOptions options, Runnable afterCertificate) throws ConfigException {
    FileContents last = readOnce(options, afterCertificate);
    for (int reads = 1; reads < MAX_READS; reads++) {
      FileContents again = readOnce(options, afterCertificate);
      boolean agree = Arrays.equals(last.digest(), again.digest());
      last.wipe();
      last = again;
      if (agree) {
        break;
      }
    }
    return last;
  }

  private static FileContents readOnce(TlsOptions options, Runnable afterCertificate) throws ConfigException {
    byte[] certificate = options.certFile() == null ? null : PemFiles.read(options.certFile());
    afterCertificate.run();
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

package dev.meshguard.testkit.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** PEM writing with atomic replacement and key files readable by the owner only. */
final class Pem {

  private static final Set<PosixFilePermission> KEY_PERMISSIONS = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> CERT_PERMISSIONS = PosixFilePermissions.fromString("rw-r--r--");

  private Pem() {}

  static Path writeCertificates(Path file, List<X509Certificate> certificates) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      for (X509Certificate certificate : certificates) {
        writer.writeObject(certificate);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return replace(file, text.toString(), CERT_PERMISSIONS);
  }

  static Path writeKey(Path file, PrivateKey key, KeyFormat format) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      switch (format) {
        case PKCS8 -> writer.writeObject(new JcaPKCS8Generator(key, null));
        case TRADITIONAL -> writer.writeObject(traditional(key));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return replace(file, text.toString(), KEY_PERMISSIONS);
  }

  /**
   * PKCS#1 for RSA; SEC1 with the named curve inside for EC. (Writing the key object directly
   * would give a SEC1 structure without its curve when the PKCS#8 encoding carries the curve only
   * in the algorithm identifier, as the JDK's does; OpenSSL cannot read such a file either.)
   */
  private static PemObject traditional(PrivateKey key) throws IOException {
    PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
    if (key instanceof ECPrivateKey ec) {
      org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
      ASN1Encodable curve = info.getPrivateKeyAlgorithm().getParameters();
      org.bouncycastle.asn1.sec.ECPrivateKey sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(
          ec.getParams().getOrder().bitLength(), inner.getKey(), inner.getPublicKey(), curve);
      return new PemObject("EC PRIVATE KEY", sec1.getEncoded());
    }
    return new PemObject("RSA PRIVATE KEY", info.parsePrivateKey().toASN1Primitive().getEncoded());
  }

  /**
   * Writes {@code content} next to {@code file} and renames it over {@code file}. The temporary
   * file is created with {@code permissions} before any byte is written, so a key is never
   * readable by others, not even briefly.
   */
  private static Path replace(Path file, String content, Set<PosixFilePermission> permissions) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
          PosixFilePermissions.asFileAttribute(permissions));
      try {
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        // createTempFile applies the umask; set the mode explicitly.
        Files.setPosixFilePermissions(tmp, permissions);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

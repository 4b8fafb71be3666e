package dev.meshguard.testkit.tls;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/** A leaf certificate issued by a {@link TestCa}, with its private key. */
public final class TestCert {

  private final String spiffeId;
  private final KeyType keyType;
  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final X509Certificate issuer;

  TestCert(String spiffeId, KeyType keyType, X509Certificate certificate, PrivateKey privateKey, X509Certificate issuer) {
    this.spiffeId = spiffeId;
    this.keyType = keyType;
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.issuer = issuer;
  }

  public String spiffeId() {
    return spiffeId;
  }

  public KeyType keyType() {
    return keyType;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  public BigInteger serial() {
    return certificate.getSerialNumber();
  }

  /** The leaf followed by its issuing CA, the order a TLS peer sends them in. */
  public List<X509Certificate> chain() {
    return List.of(certificate, issuer);
  }

  /**
   * Writes {@code <baseName>.crt} (leaf), {@code <baseName>-chain.crt} (leaf + CA) and
   * {@code <baseName>.key} (PKCS#8, mode 0600) into {@code dir}. Each file is replaced
   * atomically (written aside, then renamed), so a reader sees the old or the new file, never
   * half of one; the three files are not replaced together.
   */
  public CertFiles writeTo(Path dir, String baseName) {
    Path cert = writeCertificate(dir.resolve(baseName + ".crt"));
    Path chain = writeChain(dir.resolve(baseName + "-chain.crt"));
    Path key = writeKey(dir.resolve(baseName + ".key"));
    return new CertFiles(cert, chain, key);
  }

  public Path writeCertificate(Path file) {
    return Pem.writeCertificates(file, List.of(certificate));
  }

  public Path writeChain(Path file) {
    return Pem.writeCertificates(file, chain());
  }

  /** Writes the key as unencrypted PKCS#8, mode 0600. */
  public Path writeKey(Path file) {
    return writeKey(file, KeyFormat.PKCS8);
  }

  public Path writeKey(Path file, KeyFormat format) {
    return Pem.writeKey(file, privateKey, format);
  }

  @Override
  public String toString() {
    // Never the key.
    return "TestCert[" + spiffeId + ", serial " + serial().toString(16) + ", " + keyType + "]";
  }
}

package dev.meshguard.testkit.tls;

/** How a private key is written as PEM. */
public enum KeyFormat {
  /** {@code -----BEGIN PRIVATE KEY-----}: unencrypted PKCS#8, what cert-manager and istiod write. */
  PKCS8,
  /**
   * The OpenSSL "traditional" form: {@code -----BEGIN EC PRIVATE KEY-----} (SEC1, RFC 5915) for EC
   * keys, {@code -----BEGIN RSA PRIVATE KEY-----} (PKCS#1) for RSA keys.
   */
  TRADITIONAL
}

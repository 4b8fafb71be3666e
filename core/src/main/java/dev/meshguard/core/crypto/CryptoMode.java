package dev.meshguard.core.crypto;

/** Which cryptography a meshguard process runs with; chosen once per JVM (see {@link Crypto}). */
public enum CryptoMode {
  /** The JDK's providers (SunEC, SunRsaSign, SunJSSE); BCFIPS is available last, for PEM/X.509. */
  DEFAULT,
  /**
   * The Bouncy Castle FIPS module in approved-only mode: BCFIPS first, TLS through BCJSSE on it,
   * SP 800-90A DRBG, BCFKS key stores, and only approved algorithms.
   */
  FIPS
}

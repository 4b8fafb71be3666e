package dev.meshguard.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ApprovedAlgorithmsTest {

  private static final String KEYS = "use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096";
  private static final String SIGNATURES = "use one of SHA256withECDSA, SHA384withECDSA, SHA512withECDSA,"
      + " SHA256withRSA, SHA384withRSA, SHA512withRSA, SHA256withRSAandMGF1, SHA384withRSAandMGF1, SHA512withRSAandMGF1";
  private static final String DIGESTS = "use one of SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384, SHA3-512";

  @ParameterizedTest
  @ValueSource(strings = {
      "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "RSA-2048", "ECDSA-P256",
      "SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA", "SHA256withRSA", "SHA384withRSA", "SHA512withRSA",
      "SHA256withRSAandMGF1", "sha256withecdsa",
      "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "sha-256",
  })
  void approved(String algorithm) throws ConfigException {
    assertThat(ApprovedAlgorithms.isApproved(algorithm)).isTrue();
    ApprovedAlgorithms.requireApproved("any.setting", algorithm);
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of("rsa-1024", "key algorithm \"rsa-1024\" is not approved: RSA keys shorter than 2048 bits are not FIPS-approved; " + KEYS),
        Arguments.of("rsa-512", "key algorithm \"rsa-512\" is not approved: RSA keys shorter than 2048 bits are not FIPS-approved; " + KEYS),
        Arguments.of("rsa-8192", "key algorithm \"rsa-8192\" is not approved: RSA keys must have 2048, 3072 or 4096 bits; " + KEYS),
        Arguments.of("ecdsa-secp256k1", "key algorithm \"ecdsa-secp256k1\" is not approved: only the NIST curves P-256 (ecdsa-p256) and P-384 (ecdsa-p384) are allowed; " + KEYS),
        Arguments.of("ecdsa-p521", "key algorithm \"ecdsa-p521\" is not approved: only the NIST curves P-256 (ecdsa-p256) and P-384 (ecdsa-p384) are allowed; " + KEYS),
        Arguments.of("Ed25519", "algorithm \"Ed25519\" is not approved: EdDSA is not available from the Bouncy Castle FIPS provider; use ecdsa-p256 keys with SHA256withECDSA"),
        Arguments.of("EdDSA", "algorithm \"EdDSA\" is not approved: EdDSA is not available from the Bouncy Castle FIPS provider; use ecdsa-p256 keys with SHA256withECDSA"),
        Arguments.of("SHA1withRSA", "signature algorithm \"SHA1withRSA\" is not approved: SHA-1 is disallowed (NIST SP 800-131A) for signatures; " + SIGNATURES),
        Arguments.of("SHA1withECDSA", "signature algorithm \"SHA1withECDSA\" is not approved: SHA-1 is disallowed (NIST SP 800-131A) for signatures; " + SIGNATURES),
        Arguments.of("MD5withRSA", "signature algorithm \"MD5withRSA\" is not approved: MD5 is not FIPS-approved for signatures; " + SIGNATURES),
        Arguments.of("SHA256withDSA", "signature algorithm \"SHA256withDSA\" is not approved: unknown or unsupported signature algorithm; " + SIGNATURES),
        Arguments.of("MD5", "digest algorithm \"MD5\" is not approved: MD5 is not FIPS-approved; " + DIGESTS),
        Arguments.of("SHA-1", "digest algorithm \"SHA-1\" is not approved: SHA-1 is disallowed (NIST SP 800-131A); " + DIGESTS),
        Arguments.of("SHA1", "digest algorithm \"SHA1\" is not approved: SHA-1 is disallowed (NIST SP 800-131A); " + DIGESTS),
        Arguments.of("rot13", "algorithm \"rot13\" is not approved: unknown algorithm; approved are the key algorithms"
            + " ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, the signature algorithms SHA256withECDSA, SHA384withECDSA,"
            + " SHA512withECDSA, SHA256withRSA, SHA384withRSA, SHA512withRSA, SHA256withRSAandMGF1, SHA384withRSAandMGF1,"
            + " SHA512withRSAandMGF1 and the digests SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384, SHA3-512"),
        Arguments.of("", "no algorithm given; use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"));
  }

  @ParameterizedTest
  @MethodSource("refused")
  void refusedWithAMessageNamingSettingAndAlgorithm(String algorithm, String message) {
    assertThat(ApprovedAlgorithms.isApproved(algorithm)).isFalse();
    assertThatThrownBy(() -> ApprovedAlgorithms.requireApproved("ca.key_algorithm", algorithm))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.errors()).containsExactly(new ConfigError("config", 0, 0, "ca.key_algorithm", message));
          assertThat(e.getMessage()).isEqualTo("config: ca.key_algorithm: " + message);
        });
  }
}

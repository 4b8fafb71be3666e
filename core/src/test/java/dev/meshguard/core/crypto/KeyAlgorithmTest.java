package dev.meshguard.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class KeyAlgorithmTest {

  @BeforeAll
  static void installDefaultCrypto() throws ConfigException {
    Crypto.install(CryptoMode.DEFAULT);
  }

  @ParameterizedTest
  @CsvSource({
      "ecdsa-p256, ECDSA_P256, EC, 256, SHA256withECDSA",
      "ECDSA-P384, ECDSA_P384, EC, 384, SHA384withECDSA",
      "rsa-2048, RSA_2048, RSA, 2048, SHA256withRSA",
      "rsa-3072, RSA_3072, RSA, 3072, SHA256withRSA",
      "rsa-4096, RSA_4096, RSA, 4096, SHA256withRSA",
  })
  void parsesConfigNames(String value, KeyAlgorithm expected, String jca, int bits, String signature) throws Exception {
    KeyAlgorithm parsed = KeyAlgorithm.parse("ca.key_algorithm", value);
    assertThat(parsed).isEqualTo(expected);
    assertThat(parsed.jcaAlgorithm()).isEqualTo(jca);
    assertThat(parsed.bits()).isEqualTo(bits);
    assertThat(parsed.signatureAlgorithm()).isEqualTo(signature);
    assertThat(parsed.toString()).isEqualTo(value.toLowerCase(java.util.Locale.ROOT));
  }

  @Test
  void defaultIsP256() {
    assertThat(KeyAlgorithm.DEFAULT).isEqualTo(KeyAlgorithm.ECDSA_P256);
  }

  @Test
  void refusesOtherKeysNamingSettingAndValue() {
    assertThatThrownBy(() -> KeyAlgorithm.parse("ca.key_algorithm", "rsa-1024"))
        .hasMessage("config: ca.key_algorithm: key algorithm \"rsa-1024\" is not approved: RSA keys shorter than"
            + " 2048 bits are not FIPS-approved; use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096");
    assertThatThrownBy(() -> KeyAlgorithm.parse("ca.key_algorithm", "SHA256withECDSA"))
        .hasMessage("config: ca.key_algorithm: \"SHA256withECDSA\" is not a key algorithm;"
            + " use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096");
  }

  static Stream<Arguments> keys() throws Exception {
    return Stream.of(
        Arguments.of(ec("secp256r1", null), Optional.of(KeyAlgorithm.ECDSA_P256), "EC P-256"),
        Arguments.of(ec("secp384r1", null), Optional.of(KeyAlgorithm.ECDSA_P384), "EC P-384"),
        Arguments.of(ec("secp521r1", null), Optional.empty(), "EC P-521"),
        // The JDK dropped secp256k1; BCFIPS (non-approved here) still makes one.
        Arguments.of(ec("secp256k1", "BCFIPS"), Optional.empty(), "EC secp256k1"),
        Arguments.of(rsa(2048), Optional.of(KeyAlgorithm.RSA_2048), "RSA 2048"),
        Arguments.of(rsa(1024), Optional.empty(), "RSA 1024"),
        Arguments.of(KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic(), Optional.empty(), "Ed25519"));
  }

  @ParameterizedTest
  @MethodSource("keys")
  void recognisesExistingKeys(PublicKey key, Optional<KeyAlgorithm> expected, String description) {
    assertThat(KeyAlgorithm.of(key)).isEqualTo(expected);
    assertThat(KeyAlgorithm.describe(key)).isEqualTo(description);
  }

  private static PublicKey ec(String curve, String provider) throws Exception {
    installDefaultCrypto();
    KeyPairGenerator generator = provider == null
        ? KeyPairGenerator.getInstance("EC")
        : KeyPairGenerator.getInstance("EC", provider);
    generator.initialize(new ECGenParameterSpec(curve));
    return generator.generateKeyPair().getPublic();
  }

  private static PublicKey rsa(int bits) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(bits);
    return generator.generateKeyPair().getPublic();
  }
}

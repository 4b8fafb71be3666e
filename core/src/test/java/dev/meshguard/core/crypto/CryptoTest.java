package dev.meshguard.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Default mode, in the ordinary test JVM (not approved-only). */
class CryptoTest {

  private static Crypto crypto;

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  @Test
  void defaultModeKeepsJdkProvidersFirstAndAddsBcFipsLast() {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).as("this fork is not approved-only").isFalse();
    assertThat(crypto.mode()).isEqualTo(CryptoMode.DEFAULT);
    assertThat(crypto.isFips()).isFalse();
    assertThat(crypto.tlsProvider().getName()).isEqualTo("SunJSSE");
    assertThat(crypto.keyStoreType()).isEqualTo("PKCS12");
    List<String> names = Arrays.stream(Security.getProviders()).map(Provider::getName).toList();
    assertThat(names.getFirst()).isEqualTo("SUN");
    assertThat(names.getLast()).isEqualTo("BCFIPS");
    assertThat(names).doesNotContain("BCJSSE");
  }

  @Test
  void installIsIdempotentAndTheOtherModeIsRefused() throws ConfigException {
    assertThat(Crypto.install(CryptoMode.DEFAULT)).isSameAs(crypto);
    assertThatThrownBy(() -> Crypto.install(CryptoMode.FIPS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("crypto mode DEFAULT is installed in this JVM; cannot switch to FIPS"
            + " (providers and approved-only mode are JVM-wide)");
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void generatesSignsAndVerifies(KeyAlgorithm algorithm) throws Exception {
    KeyPair pair = crypto.generateKeyPair("ca.key_algorithm", algorithm);
    assertThat(KeyAlgorithm.of(pair.getPublic())).contains(algorithm);
    byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
    byte[] signature = crypto.sign("ca.signature_algorithm", algorithm.signatureAlgorithm(), pair.getPrivate(), data);
    assertThat(crypto.verify(algorithm.signatureAlgorithm(), pair.getPublic(), data, signature)).isTrue();
    data[0] ^= 1;
    assertThat(crypto.verify(algorithm.signatureAlgorithm(), pair.getPublic(), data, signature)).isFalse();
  }

  @Test
  void signingWithAKeyOfTheWrongTypeNamesSettingAndAlgorithm() throws Exception {
    KeyPair ec = crypto.generateKeyPair("k", KeyAlgorithm.ECDSA_P256);
    assertThatThrownBy(() -> crypto.sign("jwt.algorithm", "SHA256withRSA", ec.getPrivate(), new byte[1]))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config: jwt.algorithm: signature algorithm \"SHA256withRSA\" cannot sign with this EC key");
  }

  @Test
  void unknownAlgorithmIsReportedNotThrownAsRuntimeException() {
    assertThatThrownBy(() -> crypto.generateKeyPair("ca.key_algorithm", "ecdsa-nope", "EC", 0,
            new java.security.spec.ECGenParameterSpec("nope")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config: ca.key_algorithm: key algorithm \"ecdsa-nope\" is not available in DEFAULT mode: ");
  }

  @ParameterizedTest
  @CsvSource(nullValues = "null", delimiter = '|', value = {
      "null  | false | true  | org.bouncycastle.fips.approved_only=true is not set",
      "false | false | true  | org.bouncycastle.fips.approved_only=true is not set",
      "true  | false | true  | was set after the FIPS module had loaded",
      "true  | true  | false | failed its power-on self-test (CHECKSUM FAILED)",
  })
  void fipsStartupProblems(String property, boolean approvedOnly, boolean ready, String fragment) {
    assertThat(Crypto.fipsStartupProblem(property, approvedOnly, ready, "CHECKSUM FAILED"))
        .contains(fragment);
    assertThat(Crypto.fipsStartupProblem("true", true, true, "READY")).isNull();
  }
}

package dev.meshguard.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.crypto.fips.FipsSecureRandom;
import org.bouncycastle.crypto.fips.FipsUnapprovedOperationError;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Runs only in the approved-only fork (surefire execution "fips"). */
@Tag("fips")
class CryptoFipsTest {

  private static Crypto crypto;

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.FIPS);
  }

  @Test
  void installsApprovedOnlyBcFipsFirstAndBcJsseSecond() throws Exception {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
    assertThat(crypto.isFips()).isTrue();
    Provider[] providers = Security.getProviders();
    assertThat(providers[0].getName()).isEqualTo("BCFIPS");
    assertThat(providers[1].getName()).isEqualTo("BCJSSE");
    assertThat(((BouncyCastleJsseProvider) providers[1]).isFipsMode()).isTrue();
    assertThat(crypto.tlsProvider()).isSameAs(providers[1]);
    assertThat(crypto.keyStoreType()).isEqualTo("BCFKS");
    KeyStore store = crypto.newKeyStore();
    assertThat(store.getType()).isEqualTo("BCFKS");
    assertThat(store.getProvider().getName()).isEqualTo("BCFIPS");
    assertThat(crypto.secureRandom().getProvider().getName()).isEqualTo("BCFIPS");
    assertThat(crypto.secureRandom().getAlgorithm()).isEqualTo("DEFAULT");
    // Not the JCA DRBG above: with a JCA SecureRandom registered, BCFIPS would refuse every key
    // generation in approved-only mode (see Crypto.installFips).
    assertThat(CryptoServicesRegistrar.getSecureRandom()).isInstanceOf(FipsSecureRandom.class);
    assertThat(crypto.certificateFactory().getProvider().getName()).isEqualTo("BCFIPS");
    assertThat(crypto.keyFactory("EC").getProvider().getName()).isEqualTo("BCFIPS");
    assertThat(Crypto.install(CryptoMode.FIPS)).isSameAs(crypto);
    assertThatThrownBy(() -> Crypto.install(CryptoMode.DEFAULT)).isInstanceOf(IllegalStateException.class);
  }

  @ParameterizedTest
  @EnumSource(value = KeyAlgorithm.class, names = {"ECDSA_P256", "ECDSA_P384", "RSA_2048"})
  void approvedKeysSignAndVerifyInsideTheModule(KeyAlgorithm algorithm) throws Exception {
    KeyPair pair = crypto.generateKeyPair("ca.key_algorithm", algorithm);
    assertThat(pair.getPrivate().getClass().getName()).startsWith("org.bouncycastle.");
    byte[] data = "meshguard".getBytes(StandardCharsets.UTF_8);
    byte[] signature = crypto.sign("ca.signature_algorithm", algorithm.signatureAlgorithm(), pair.getPrivate(), data);
    assertThat(crypto.verify(algorithm.signatureAlgorithm(), pair.getPublic(), data, signature)).isTrue();
    assertThat(crypto.verify(algorithm.signatureAlgorithm(), pair.getPublic(), "other".getBytes(StandardCharsets.UTF_8), signature)).isFalse();
  }

  @Test
  void rsa1024IsRefusedByTheModuleAndReportedWithSettingAndAlgorithm() {
    // The raw path skips our list, so this is the module's FipsUnapprovedOperationError, converted.
    assertThatThrownBy(() -> crypto.generateKeyPair("ca.key_algorithm", "rsa-1024", "RSA", 1024, null))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.getMessage()).startsWith(
              "config: ca.key_algorithm: key algorithm \"rsa-1024\" is not approved in FIPS mode: ");
          assertThat(e.getCause()).isInstanceOf(FipsUnapprovedOperationError.class);
        });
  }

  @Test
  void sha1SignatureIsRefusedByOurListFirst() throws Exception {
    KeyPair rsa = crypto.generateKeyPair("k", KeyAlgorithm.RSA_2048);
    assertThatThrownBy(() -> crypto.sign("jwt.signature_algorithm", "SHA1withRSA", rsa.getPrivate(), new byte[8]))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config: jwt.signature_algorithm: signature algorithm \"SHA1withRSA\" is not approved:"
            + " SHA-1 is disallowed (NIST SP 800-131A) for signatures; use one of SHA256withECDSA");
  }

  @Test
  void sha1SignatureIsAlsoRefusedByTheModuleAndReportedWithSettingAndAlgorithm() throws Exception {
    KeyPair ec = crypto.generateKeyPair("k", KeyAlgorithm.ECDSA_P256);
    assertThatThrownBy(() -> crypto.signUnchecked("jwt.signature_algorithm", "SHA1withECDSA", ec.getPrivate(), new byte[8]))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.getMessage()).isEqualTo("config: jwt.signature_algorithm: signature algorithm \"SHA1withECDSA\""
              + " is not approved in FIPS mode: SHA-1 is not approved for signature generation");
          assertThat(e.getCause()).isInstanceOf(FipsUnapprovedOperationError.class);
        });
  }

  @Test
  void ed25519IsAbsentFromBcFips() {
    assertThatThrownBy(() -> crypto.generateKeyPair("ca.key_algorithm", "ed25519", "Ed25519", 0, null))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config: ca.key_algorithm: key algorithm \"ed25519\" is not available in FIPS mode:"
            + " no such algorithm: Ed25519 for provider BCFIPS");
  }

  @Test
  void theModuleAllowsSecp256k1SoOurListMustNot() throws Exception {
    // Documented in identity-ca.md §6: BC-FIPS generates secp256k1 keys in approved-only mode.
    KeyPair k1 = crypto.generateKeyPair("k", "ecdsa-secp256k1", "EC", 0, new ECGenParameterSpec("secp256k1"));
    assertThat(KeyAlgorithm.of(k1.getPublic())).isEmpty();
    assertThat(ApprovedAlgorithms.isApproved("ecdsa-secp256k1")).isFalse();
  }
}

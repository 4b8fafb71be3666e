package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundles made and checked in a JVM in Bouncy Castle approved-only mode (the "fips" fork). */
@Tag("fips")
class PolicyBundleFipsTest {
  static Crypto crypto;

  @TempDir
  Path tmp;

  @BeforeAll
  static void install() throws Exception {
    crypto = Crypto.install(CryptoMode.FIPS);
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
  }

  @Test
  void signAndVerifyWithTheFipsModule() throws Exception {
    Path src = tmp.resolve("src");
    Files.createDirectories(src);
    Files.writeString(src.resolve("mesh.yaml"), PolicyBundleTest.MESH_DENY);
    KeyPair key = PolicyBundle.generateKey(crypto);
    assertThat(key.getPrivate().getClass().getName()).startsWith("org.bouncycastle.");
    Path keyFile = tmp.resolve("bundle.pem");
    PolicyBundle.writeKeyPair(key, keyFile);

    Path out = tmp.resolve("bundle");
    PolicyBundle.write(PolicyLoader.load(List.of(src)), List.of(src), out,
        PolicyBundle.readPrivateKey(crypto, keyFile), crypto, new ManualClock(Instant.parse("2026-11-28T10:00:00Z")));
    var trusted = PolicyBundle.readPublicKey(crypto, PolicyBundle.publicKeyFile(keyFile));
    assertThat(PolicyBundle.verify(out, trusted, crypto).signed()).isTrue();
    // The server's entry point (no Crypto handed in) resolves to the FIPS module too.
    assertThat(PolicyBundle.load(out, trusted).authorizationPolicies()).hasSize(1);

    Files.writeString(out.resolve("manifest.json"), Files.readString(out.resolve("manifest.json")) + " ");
    assertThatThrownBy(() -> PolicyBundle.load(out, trusted))
        .isInstanceOf(ConfigException.class).hasMessageContaining("does not verify with the trusted key");
  }
}

package dev.meshguard.cli;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;

/**
 * Installs the crypto provider for a server command. Must run before anything touches Bouncy
 * Castle: approved-only mode is read once, when the module loads, so {@code --fips} (or
 * {@code fips: true}, or {@code MESHGUARD_FIPS=true}) is turned into the JVM-wide property first.
 * Config loading does not touch Bouncy Castle, so the file can decide.
 */
final class CliCrypto {
  private CliCrypto() {}

  static Crypto install(boolean fips) throws ConfigException {
    if (fips) {
      Crypto.requestApprovedOnlyMode();
      return Crypto.install(CryptoMode.FIPS);
    }
    return Crypto.install(CryptoMode.DEFAULT);
  }
}

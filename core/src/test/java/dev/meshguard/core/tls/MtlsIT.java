package dev.meshguard.core.tls;

import dev.meshguard.core.crypto.CryptoMode;

/** The mTLS contract in default mode: SunJSSE over the JDK providers. */
class MtlsIT extends MtlsContract {

  @Override
  CryptoMode mode() {
    return CryptoMode.DEFAULT;
  }

  @Override
  String expectedTlsProvider() {
    return "SunJSSE";
  }

  @Override
  String expectedSessionPackage() {
    return "sun.security.ssl.";
  }
}

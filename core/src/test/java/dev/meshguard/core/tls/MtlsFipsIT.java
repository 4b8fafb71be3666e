package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.crypto.CryptoMode;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The mTLS contract in FIPS mode, in the approved-only failsafe fork: BCJSSE on BCFIPS for both
 * server and client, BCFKS key stores, keys and certificates from BCFIPS.
 */
@Tag("fips")
class MtlsFipsIT extends MtlsContract {

  @Override
  CryptoMode mode() {
    return CryptoMode.FIPS;
  }

  @Override
  String expectedTlsProvider() {
    return "BCJSSE";
  }

  @Override
  String expectedSessionPackage() {
    return "org.bouncycastle.jsse.provider.";
  }

  @Test
  void thisJvmIsApprovedOnly() {
    assertThat(CryptoServicesRegistrar.isInApprovedOnlyMode()).isTrue();
  }
}

package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.time.ManualClock;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpiffeBundleTest {
  @TempDir
  Path dir;

  @Test
  void jwkSetWithOneX5cPerCaAndTheSpiffeFields() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
    ManualClock clock = new ManualClock();
    X509Certificate ec = CertificateAuthority.init(crypto, clock, dir.resolve("ec"), "example.org",
        KeyAlgorithm.ECDSA_P384, CaOptions.defaults()).signingCertificate();
    X509Certificate rsa = CertificateAuthority.init(crypto, clock, dir.resolve("rsa"), "example.org",
        KeyAlgorithm.RSA_2048, CaOptions.defaults()).signingCertificate();

    JsonNode bundle = new ObjectMapper().readTree(SpiffeBundle.toJson(List.of(ec, rsa), 7, Duration.ofMinutes(5)));
    assertThat(bundle.get("spiffe_sequence").asLong()).isEqualTo(7);
    assertThat(bundle.get("spiffe_refresh_hint").asLong()).isEqualTo(300);
    assertThat(bundle.get("keys")).hasSize(2);

    JsonNode ecKey = bundle.get("keys").get(0);
    assertThat(ecKey.get("use").asText()).isEqualTo("x509-svid");
    assertThat(ecKey.has("kid")).isFalse();
    assertThat(ecKey.get("kty").asText()).isEqualTo("EC");
    assertThat(ecKey.get("crv").asText()).isEqualTo("P-384");
    ECPublicKey ecPublic = (ECPublicKey) ec.getPublicKey();
    byte[] x = Base64.getUrlDecoder().decode(ecKey.get("x").asText());
    assertThat(x).hasSize(48);
    assertThat(new BigInteger(1, x)).isEqualTo(ecPublic.getW().getAffineX());
    assertThat(new BigInteger(1, Base64.getUrlDecoder().decode(ecKey.get("y").asText()))).isEqualTo(ecPublic.getW().getAffineY());
    assertThat(ecKey.get("x5c")).hasSize(1);
    assertThat(parse(ecKey.get("x5c").get(0).asText())).isEqualTo(ec);

    JsonNode rsaKey = bundle.get("keys").get(1);
    assertThat(rsaKey.get("kty").asText()).isEqualTo("RSA");
    RSAPublicKey rsaPublic = (RSAPublicKey) rsa.getPublicKey();
    assertThat(new BigInteger(1, Base64.getUrlDecoder().decode(rsaKey.get("n").asText()))).isEqualTo(rsaPublic.getModulus());
    assertThat(rsaKey.get("e").asText()).isEqualTo("AQAB");
    assertThat(parse(rsaKey.get("x5c").get(0).asText())).isEqualTo(rsa);
  }

  private static X509Certificate parse(String base64) throws Exception {
    // x5c is standard base64, not base64url (RFC 7517 §4.7).
    return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(base64)));
  }
}

package dev.meshguard.ca.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.core.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The offline checks against a fake clock: the minute of leeway on {@code exp} and {@code nbf}
 * (go-jose's {@code DefaultLeeway}, which the API server uses), and the claims and algorithms
 * that are refused.
 */
class JwksTokenValidatorTest {
  static final Instant NOW = Instant.parse("2026-11-28T08:00:00Z");
  final ServiceAccountTokens tokens = ServiceAccountTokens.ec("https://issuer.example");
  final ManualClock clock = new ManualClock(NOW);
  final JwksTokenValidator validator = new JwksTokenValidator(tokens.publicKeys(), "https://issuer.example",
      List.of("istio-ca"), clock);

  @Test
  void aValidTokenNamesItsServiceAccount() {
    assertThat(validator.check(tokens.token("default", "web", List.of("istio-ca"), NOW, Duration.ofHours(1))))
        .isEqualTo(new TokenCheck.Valid("default", "web"));
  }

  @Test
  void expiryHasAMinuteOfLeeway() {
    String token = tokens.token("default", "web", List.of("istio-ca"), NOW, Duration.ofHours(1));
    clock.setWallTime(NOW.plus(Duration.ofHours(1)).plusSeconds(60));
    assertThat(validator.check(token)).isInstanceOf(TokenCheck.Valid.class);
    clock.setWallTime(NOW.plus(Duration.ofHours(1)).plusSeconds(61));
    assertThat(validator.check(token)).isEqualTo(new TokenCheck.Refused("the token expired at 2026-11-28T09:00:00Z"));
  }

  @Test
  void notBeforeHasAMinuteOfLeeway() {
    String token = tokens.token("default", "web", List.of("istio-ca"), NOW.plusSeconds(120), Duration.ofHours(1));
    clock.setWallTime(NOW.plusSeconds(60));
    assertThat(validator.check(token)).isInstanceOf(TokenCheck.Valid.class);
    clock.setWallTime(NOW.plusSeconds(59));
    assertThat(validator.check(token)).isEqualTo(new TokenCheck.Refused("the token is not valid before 2026-11-28T08:02:00Z"));
  }

  @Test
  void anotherIssuerIsRefusedEvenWithTheRightKey() {
    JwksTokenValidator other = new JwksTokenValidator(tokens.publicKeys(), "https://kubernetes.default.svc",
        List.of("istio-ca"), clock);
    assertThat(other.check(tokens.token("default", "web", List.of("istio-ca"), NOW, Duration.ofHours(1))))
        .isEqualTo(new TokenCheck.Refused("the token's issuer is \"https://issuer.example\", not"
            + " \"https://kubernetes.default.svc\""));
  }

  @Test
  void aSharedSecretSignatureIsRefusedBeforeAnyKeyIsTried() throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder()
        .issuer("https://issuer.example").subject("system:serviceaccount:default:web").audience("istio-ca")
        .expirationTime(Date.from(NOW.plusSeconds(600))).build());
    jwt.sign(new MACSigner(new byte[32]));
    assertThat(validator.check(jwt.serialize())).isEqualTo(new TokenCheck.Refused("the token is signed with HS256;"
        + " service-account tokens are signed with RS, PS or ES of SHA-256 or stronger"));
  }

  @Test
  void aSubjectThatIsNotAServiceAccountIsRefused() {
    assertThat(TokenCheck.fromUsername("system:node:worker-1")).isEqualTo(new TokenCheck.Refused(
        "the token belongs to \"system:node:worker-1\", not to a service account (system:serviceaccount:<namespace>:<name>)"));
    assertThat(TokenCheck.fromUsername("system:serviceaccount:default")).isEqualTo(new TokenCheck.Refused(
        "the token's user \"system:serviceaccount:default\" is not of the form system:serviceaccount:<namespace>:<name>"));
    assertThat(TokenCheck.fromUsername("system:serviceaccount:a:b:c")).isInstanceOf(TokenCheck.Refused.class);
  }
}

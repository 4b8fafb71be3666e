package dev.meshguard.ca.server;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * Checks service-account tokens offline, as the Kubernetes API server's own service-account
 * authenticator does (for tests, and for clusters whose API is out of reach): a JWS signed with
 * RS/PS/ES of SHA-256 or stronger by a key of the configured JWK Set, {@code iss} equal to the
 * cluster's issuer, {@code exp} (required) and {@code nbf} within a minute of leeway (go-jose's
 * default, which the API server uses), an {@code aud} that includes one of the accepted
 * audiences, and {@code sub} = {@code system:serviceaccount:<namespace>:<name>}.
 *
 * <p>Nimbus JOSE+JWT parses and verifies; the claim checks are ours, so that time comes from the
 * injected {@link Clock} and each refusal says which claim failed. Immutable and thread-safe.
 */
final class JwksTokenValidator implements TokenValidator {
  /** go-jose's {@code DefaultLeeway}, used by the API server for exp, nbf and iat. */
  static final Duration LEEWAY = Duration.ofMinutes(1);
  /** No shared-secret (HS*) and no {@code none}: a CA must not accept what anyone holding the key set could mint. */
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
      JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256,
      JWSAlgorithm.ES384);
  /** A service-account token is about a kilobyte; bound what is parsed. */
  static final int MAX_TOKEN_CHARS = 16 * 1024;

  private final JWKSet keys;
  private final String issuer;
  private final List<String> audiences;
  private final Clock clock;
  private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();

  JwksTokenValidator(JWKSet keys, String issuer, List<String> audiences, Clock clock) {
    this.keys = keys.toPublicJWKSet();
    this.issuer = issuer;
    this.audiences = List.copyOf(audiences);
    this.clock = clock;
  }

  /**
   * Reads the JWK Set in {@code file}.
   *
   * @param setting the config key of the file, named in errors
   * @throws ConfigException naming the file when it cannot be read, is not a JWK Set, or has no RSA or EC key
   */
  static JWKSet load(String setting, Path file) throws ConfigException {
    String text;
    try {
      if (Files.size(file) > 1 << 20) {
        throw error(file, "is larger than 1 MiB; not a JWK Set");
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw error(file, "cannot read the JWK Set (" + setting + "): " + e);
    }
    JWKSet set;
    try {
      set = JWKSet.parse(text);
    } catch (ParseException e) {
      throw error(file, "is not a JWK Set (RFC 7517): " + e.getMessage());
    }
    if (set.getKeys().stream().noneMatch(k -> k instanceof RSAKey || k instanceof ECKey)) {
      throw error(file, "holds no RSA or EC key to verify service-account tokens with");
    }
    return set;
  }

  private static ConfigException error(Path file, String message) {
    return new ConfigException(new ConfigError(file.toString(), 0, 0, "", message));
  }

  @Override
  public TokenCheck check(String token) {
    if (token.length() > MAX_TOKEN_CHARS) {
      return new TokenCheck.Refused("the token is " + token.length() + " characters long, more than " + MAX_TOKEN_CHARS);
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      return new TokenCheck.Refused("the token is not a signed JWT: " + e.getMessage());
    }
    JWSHeader header = jwt.getHeader();
    if (!ALGORITHMS.contains(header.getAlgorithm())) {
      return new TokenCheck.Refused("the token is signed with " + header.getAlgorithm()
          + "; service-account tokens are signed with RS, PS or ES of SHA-256 or stronger");
    }
    List<JWK> candidates = new JWKSelector(JWKMatcher.forJWSHeader(header)).select(keys);
    if (candidates.isEmpty()) {
      return new TokenCheck.Refused("no key of the issuer's JWK Set matches the token (kid "
          + (header.getKeyID() == null ? "absent" : "\"" + header.getKeyID() + "\"") + ", alg " + header.getAlgorithm() + ")");
    }
    if (!verifies(jwt, header, candidates)) {
      return new TokenCheck.Refused("the token's signature does not verify with the issuer's keys");
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return new TokenCheck.Refused("the token's claims are not a JSON object: " + e.getMessage());
    }
    if (!issuer.equals(claims.getIssuer())) {
      return new TokenCheck.Refused("the token's issuer is " + quote(claims.getIssuer()) + ", not " + quote(issuer));
    }
    Instant now = clock.now();
    Date expiry = claims.getExpirationTime();
    if (expiry == null) {
      return new TokenCheck.Refused("the token has no expiry (exp); only bound service-account tokens are accepted");
    }
    if (now.isAfter(expiry.toInstant().plus(LEEWAY))) {
      return new TokenCheck.Refused("the token expired at " + expiry.toInstant());
    }
    Date notBefore = claims.getNotBeforeTime();
    if (notBefore != null && now.plus(LEEWAY).isBefore(notBefore.toInstant())) {
      return new TokenCheck.Refused("the token is not valid before " + notBefore.toInstant());
    }
    List<String> tokenAudiences = claims.getAudience();
    if (tokenAudiences.stream().noneMatch(audiences::contains)) {
      return new TokenCheck.Refused("the token's audiences " + tokenAudiences + " do not include " + String.join(" or ", audiences));
    }
    return TokenCheck.fromUsername(claims.getSubject());
  }

  private boolean verifies(SignedJWT jwt, JWSHeader header, List<JWK> candidates) {
    for (JWK candidate : candidates) {
      try {
        PublicKey key = switch (candidate) {
          case RSAKey rsa -> rsa.toRSAPublicKey();
          case ECKey ec -> ec.toECPublicKey();
          default -> null;
        };
        if (key == null) {
          continue;
        }
        JWSVerifier verifier = verifiers.createJWSVerifier(header, key);
        if (jwt.verify(verifier)) {
          return true;
        }
      } catch (JOSEException | RuntimeException e) {
        // A key that cannot verify this token (wrong curve, unusable parameters) is not its key.
      }
    }
    return false;
  }

  private static String quote(String value) {
    return value == null ? "absent" : "\"" + value + "\"";
  }
}

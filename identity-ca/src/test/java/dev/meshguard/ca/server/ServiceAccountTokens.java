package dev.meshguard.ca.server;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Mints Kubernetes service-account tokens the way the API server's TokenRequest does for a
 * projected volume ({@code serviceAccountToken: {audience: istio-ca}}): a JWS with {@code kid},
 * claims {@code aud}, {@code exp}, {@code iat}, {@code nbf}, {@code iss}, {@code jti}, {@code sub}
 * = {@code system:serviceaccount:<ns>:<sa>} and the {@code kubernetes.io} object with namespace,
 * pod and service account (see the "New format" token in the Kubernetes docs on bound tokens).
 * The API server signs with RS256 by default; {@link #ec} gives an ES256 issuer (usable in FIPS
 * approved-only mode without RSA signing). The header is {@code {alg, kid}}, no {@code typ}, as the API server writes it.
 */
final class ServiceAccountTokens {
  static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
  static final Duration LIFETIME = Duration.ofHours(1);

  private final String issuer;
  private final JWK key;
  private final JWSSigner signer;
  private final JWSAlgorithm algorithm;

  private ServiceAccountTokens(String issuer, JWK key, JWSSigner signer, JWSAlgorithm algorithm) {
    this.issuer = issuer;
    this.key = key;
    this.signer = signer;
    this.algorithm = algorithm;
  }

  static ServiceAccountTokens rsa(String issuer) {
    try {
      RSAKey key = new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).generate();
      return new ServiceAccountTokens(issuer, key, new RSASSASigner(key), JWSAlgorithm.RS256);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static ServiceAccountTokens ec(String issuer) {
    try {
      ECKey key = new ECKeyGenerator(Curve.P_256).keyID(UUID.randomUUID().toString()).generate();
      return new ServiceAccountTokens(issuer, key, new ECDSASigner(key), JWSAlgorithm.ES256);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  String issuer() {
    return issuer;
  }

  JWKSet publicKeys() {
    return new JWKSet(key.toPublicJWK());
  }

  Path writeJwks(Path file) throws IOException {
    Files.writeString(file, publicKeys().toString());
    return file;
  }

  /** A token for {@code namespace/name}, audience {@code istio-ca}, issued now for an hour. */
  String token(String namespace, String name) {
    return token(namespace, name, List.of("istio-ca"), Instant.now(), LIFETIME);
  }

  String token(String namespace, String name, List<String> audiences, Instant issuedAt, Duration lifetime) {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .audience(audiences)
        .expirationTime(Date.from(issuedAt.plus(lifetime)))
        .issueTime(Date.from(issuedAt))
        .notBeforeTime(Date.from(issuedAt))
        .issuer(issuer)
        .jwtID(UUID.randomUUID().toString())
        .subject("system:serviceaccount:" + namespace + ":" + name)
        .claim("kubernetes.io", Map.of(
            "namespace", namespace,
            "pod", Map.of("name", name + "-7d4b9c8f6-x2x9q", "uid", UUID.randomUUID().toString()),
            "serviceaccount", Map.of("name", name, "uid", uid(namespace, name))))
        .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(key.getKeyID()).build(), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return jwt.serialize();
  }

  /** A service account's stable UID, as the API server reports it in {@code status.user.uid}. */
  static String uid(String namespace, String name) {
    return UUID.nameUUIDFromBytes((namespace + "/" + name).getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
  }
}

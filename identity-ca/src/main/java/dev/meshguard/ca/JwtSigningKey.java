package dev.meshguard.ca;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Objects;

/**
 * A JWT-SVID signing key (JWT-SVID.md): ES256 on P-256 by default, ES384 on P-384, or RS256 on
 * RSA. Its {@code kid} is the RFC 7638 thumbprint of the public key, so it is stable for the key
 * and unique among keys. The private key stays in memory and is never logged.
 *
 * <p>Signatures go through {@link Crypto#sign}, so in FIPS mode the BC-FIPS provider makes them
 * and the algorithm is checked against the approved list like every other signature; Nimbus
 * JOSE+JWT only builds and parses the JWS (its JCA signers would pick a provider on their own).
 */
public final class JwtSigningKey {
  /** The setting named when the key type or its signature is refused. */
  public static final String SETTING = "ca.jwt_key_type";

  private final Crypto crypto;
  private final KeyAlgorithm keyAlgorithm;
  private final JWSAlgorithm jwsAlgorithm;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final JWK publicJwk;
  private final String keyId;

  private JwtSigningKey(Crypto crypto, KeyAlgorithm keyAlgorithm, KeyPair keyPair) {
    this.crypto = crypto;
    this.keyAlgorithm = keyAlgorithm;
    this.jwsAlgorithm = jwsAlgorithm(keyAlgorithm);
    this.privateKey = keyPair.getPrivate();
    this.publicKey = keyPair.getPublic();
    try {
      JWK bare = jwk(publicKey, null);
      this.keyId = bare.computeThumbprint().toString();
      this.publicJwk = jwk(publicKey, keyId);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot compute the thumbprint of a " + keyAlgorithm + " key", e);
    }
  }

  /**
   * Generates a key of {@code algorithm} with the mode's provider.
   *
   * @throws ConfigException naming {@value #SETTING} when the provider refuses the key type
   */
  public static JwtSigningKey generate(Crypto crypto, KeyAlgorithm algorithm) throws ConfigException {
    Objects.requireNonNull(algorithm, "algorithm");
    return new JwtSigningKey(crypto, algorithm, crypto.generateKeyPair(SETTING, algorithm));
  }

  /**
   * The key of a persisted pair ({@link RootStore}).
   *
   * @throws IllegalArgumentException when the public key is not of an allowed type
   */
  static JwtSigningKey of(Crypto crypto, KeyPair keyPair) {
    KeyAlgorithm algorithm = KeyAlgorithm.of(keyPair.getPublic()).orElseThrow(() -> new IllegalArgumentException(
        "a JWT key must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, found "
            + KeyAlgorithm.describe(keyPair.getPublic())));
    return new JwtSigningKey(crypto, algorithm, keyPair);
  }

  /** The private key, for {@link RootStore} to persist; never logged. */
  PrivateKey privateKey() {
    return privateKey;
  }

  /** The JWS algorithm of a key type: ES256 (P-256), ES384 (P-384), RS256 (every RSA size). */
  public static JWSAlgorithm jwsAlgorithm(KeyAlgorithm algorithm) {
    return switch (algorithm) {
      case ECDSA_P256 -> JWSAlgorithm.ES256;
      case ECDSA_P384 -> JWSAlgorithm.ES384;
      case RSA_2048, RSA_3072, RSA_4096 -> JWSAlgorithm.RS256;
    };
  }

  /** The {@code kid}: the base64url SHA-256 JWK thumbprint of the public key (RFC 7638). */
  public String keyId() {
    return keyId;
  }

  public JWSAlgorithm jwsAlgorithm() {
    return jwsAlgorithm;
  }

  public KeyAlgorithm keyAlgorithm() {
    return keyAlgorithm;
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The public key as a JWK with {@code kid} and {@code use: "jwt-svid"}, as a SPIFFE bundle holds it. */
  public JWK publicJwk() {
    return publicJwk;
  }

  /**
   * Signs {@code claims} as a compact JWS with header {@code alg}, {@code kid} and
   * {@code typ: JWT}.
   *
   * @throws ConfigException when the provider refuses to sign (a FIPS refusal names {@value #SETTING})
   */
  public String sign(JWTClaimsSet claims) throws ConfigException {
    JWSHeader header = new JWSHeader.Builder(jwsAlgorithm).keyID(keyId).type(JOSEObjectType.JWT).build();
    String signingInput = header.toBase64URL() + "." + new Payload(claims.toJSONObject()).toBase64URL();
    byte[] signature = crypto.sign(SETTING, keyAlgorithm.signatureAlgorithm(), privateKey,
        signingInput.getBytes(StandardCharsets.US_ASCII));
    if (keyAlgorithm.jcaAlgorithm().equals("EC")) {
      try {
        // JCA ECDSA signatures are DER; JWS wants R || S, each the size of the curve order (RFC 7518 §3.4).
        signature = ECDSA.transcodeSignatureToConcat(signature, signatureLength());
      } catch (JOSEException e) {
        throw new IllegalStateException("the provider returned a malformed ECDSA signature", e);
      }
    }
    return signingInput + "." + Base64URL.encode(signature);
  }

  /**
   * Whether {@code jwt}'s signature was made by this key with this key's algorithm. Never throws
   * for any input: a malformed signature is simply not valid.
   */
  public boolean verifies(SignedJWT jwt) {
    if (!jwsAlgorithm.equals(jwt.getHeader().getAlgorithm())) {
      return false;
    }
    byte[] signature = jwt.getSignature().decode();
    try {
      if (keyAlgorithm.jcaAlgorithm().equals("EC")) {
        if (signature.length != signatureLength()) {
          return false;
        }
        // Refuses r or s of zero or not below the order (CVE-2022-21449) before any provider sees it.
        ECDSA.ensureLegalSignature(signature, jwsAlgorithm);
        signature = ECDSA.transcodeSignatureToDER(signature);
      }
      return crypto.verify(keyAlgorithm.signatureAlgorithm(), publicKey,
          jwt.getSigningInput(), signature);
    } catch (JOSEException | GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private int signatureLength() {
    return keyAlgorithm == KeyAlgorithm.ECDSA_P384 ? 96 : 64;
  }

  private static JWK jwk(PublicKey key, String kid) {
    KeyUse use = new KeyUse("jwt-svid");
    if (key instanceof ECPublicKey ec) {
      Curve curve = Curve.forECParameterSpec(ec.getParams());
      return new ECKey.Builder(curve, ec).keyID(kid).keyUse(kid == null ? null : use).build();
    }
    if (key instanceof RSAPublicKey rsa) {
      return new RSAKey.Builder(rsa).keyID(kid).keyUse(kid == null ? null : use).build();
    }
    throw new IllegalArgumentException("unsupported JWT key type " + key.getAlgorithm());
  }

  @Override
  public String toString() {
    return "JwtSigningKey[" + jwsAlgorithm + ", kid " + keyId + "]";
  }
}

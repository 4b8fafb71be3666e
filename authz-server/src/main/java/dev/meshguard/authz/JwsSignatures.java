package dev.meshguard.authz;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;

/** The JWS signature check against a JWK Set, as jwt_verify_lib {@code verify.cc} does it. */
final class JwsSignatures {

  private JwsSignatures() {}

  /** The key type an algorithm needs. */
  enum Family {
    RSA, EC, OCT;

    static Family of(String alg) {
      return switch (alg) {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512" -> RSA;
        case "ES256", "ES384", "ES512" -> EC;
        case "HS256", "HS384", "HS512" -> OCT;
        default -> null; // EdDSA needs Tink with Nimbus, which is not on the classpath
      };
    }
  }

  /** Whether a key verified the signature, no key suited the token, or the suitable keys all failed. */
  enum Match { VERIFIED, NO_KEY, FAILED }

  /**
   * jwt_verify_lib {@code verify.cc}: a key is tried when its {@code kid} is absent or equals the
   * token's (a token without {@code kid} tries every key), its {@code alg} is absent or equal, and
   * its type suits the algorithm.
   */
  static Match verifySignature(JWKSet keys, JWSHeader header, String alg, String kid, Family family,
      byte[] signingInput, Base64URL signature) {
    boolean matched = false;
    for (JWK key : keys.getKeys()) {
      if (kid != null && key.getKeyID() != null && !key.getKeyID().equals(kid)) {
        continue;
      }
      if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(alg)) {
        continue;
      }
      JWSVerifier verifier;
      try {
        verifier = switch (family) {
          case RSA -> key instanceof RSAKey rsa ? new RSASSAVerifier(rsa) : null;
          case EC -> key instanceof ECKey ec && ecCurveFits(ec, alg) ? new ECDSAVerifier(ec) : null;
          case OCT -> key instanceof OctetSequenceKey oct ? new MACVerifier(oct) : null;
        };
      } catch (JOSEException e) {
        verifier = null; // e.g. an HMAC secret shorter than 256 bits
      }
      if (verifier == null) {
        continue;
      }
      matched = true;
      try {
        if (verifier.verify(header, signingInput, signature)) {
          return Match.VERIFIED;
        }
      } catch (JOSEException | RuntimeException e) {
        // a malformed signature for this key: try the next
      }
    }
    return matched ? Match.FAILED : Match.NO_KEY;
  }

  private static boolean ecCurveFits(ECKey key, String alg) {
    return switch (alg) {
      case "ES256" -> com.nimbusds.jose.jwk.Curve.P_256.equals(key.getCurve());
      case "ES384" -> com.nimbusds.jose.jwk.Curve.P_384.equals(key.getCurve());
      case "ES512" -> com.nimbusds.jose.jwk.Curve.P_521.equals(key.getCurve());
      default -> false;
    };
  }
}

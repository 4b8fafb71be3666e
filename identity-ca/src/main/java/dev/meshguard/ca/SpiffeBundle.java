package dev.meshguard.ca;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * The SPIFFE trust bundle of one trust domain as an RFC 7517 JWK Set
 * (SPIFFE_Trust_Domain_and_Bundle.md §4): one {@code use: "x509-svid"} key per CA certificate,
 * each with exactly one standard-base64 DER certificate in {@code x5c}, the public key
 * parameters, and no {@code kid}; plus {@code spiffe_sequence} and {@code spiffe_refresh_hint}.
 */
public final class SpiffeBundle {
  /** SPIFFE clients default to 5 minutes when the hint is absent; SPIRE's default too. */
  public static final Duration DEFAULT_REFRESH_HINT = Duration.ofMinutes(5);

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  private SpiffeBundle() {}

  /**
   * The bundle JSON, pretty-printed, keys in {@code roots} order.
   *
   * @param sequence {@code spiffe_sequence}; the caller makes it increase on every content change
   */
  public static String toJson(List<X509Certificate> roots, long sequence, Duration refreshHint) {
    return toJson(roots, List.of(), sequence, refreshHint);
  }

  /**
   * The bundle JSON with JWT authorities too: after the x509-svid keys, one {@code use:
   * "jwt-svid"} key per JWT signing key, each with its {@code kid} (JWT-SVID.md §6).
   */
  public static String toJson(List<X509Certificate> roots, List<JwtSigningKey> jwtKeys, long sequence,
      Duration refreshHint) {
    ObjectNode bundle = JSON.createObjectNode();
    ArrayNode keys = bundle.putArray("keys");
    for (X509Certificate root : roots) {
      keys.add(jwk(root));
    }
    for (JwtSigningKey key : jwtKeys) {
      keys.add(JSON.valueToTree(key.publicJwk().toJSONObject()));
    }
    bundle.put("spiffe_sequence", sequence);
    bundle.put("spiffe_refresh_hint", refreshHint.toSeconds());
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(bundle) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON tree", e);
    }
  }

  private static ObjectNode jwk(X509Certificate certificate) {
    ObjectNode key = JSON.createObjectNode();
    if (certificate.getPublicKey() instanceof ECPublicKey ec) {
      int size = (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8;
      key.put("kty", "EC");
      key.put("use", "x509-svid");
      key.put("crv", size == 32 ? "P-256" : size == 48 ? "P-384" : "P-521");
      key.put("x", BASE64URL.encodeToString(unsigned(ec.getW().getAffineX(), size)));
      key.put("y", BASE64URL.encodeToString(unsigned(ec.getW().getAffineY(), size)));
    } else if (certificate.getPublicKey() instanceof RSAPublicKey rsa) {
      key.put("kty", "RSA");
      key.put("use", "x509-svid");
      key.put("n", BASE64URL.encodeToString(unsigned(rsa.getModulus(), 0)));
      key.put("e", BASE64URL.encodeToString(unsigned(rsa.getPublicExponent(), 0)));
    } else {
      throw new IllegalArgumentException("unsupported CA key type " + certificate.getPublicKey().getAlgorithm());
    }
    try {
      key.putArray("x5c").add(Base64.getEncoder().encodeToString(certificate.getEncoded()));
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode a parsed certificate", e);
    }
    return key;
  }

  /** Big-endian without a sign byte, left-padded to {@code length} when it is positive (RFC 7518 §6.2.1.2). */
  static byte[] unsigned(BigInteger value, int length) {
    byte[] bytes = value.toByteArray();
    int start = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
    int size = bytes.length - start;
    int outLength = Math.max(length, size);
    byte[] out = new byte[outLength];
    System.arraycopy(bytes, start, out, outLength - size, size);
    return out;
  }
}

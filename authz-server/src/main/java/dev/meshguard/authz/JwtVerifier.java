package dev.meshguard.authz;

import static dev.meshguard.authz.JwsSignatures.verifySignature;

import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.meshguard.authz.JwsSignatures.Family;
import dev.meshguard.authz.JwsSignatures.Match;
import dev.meshguard.authz.JwtRulePlans.Provider;
import dev.meshguard.authz.JwtTokenExtractor.Location;
import dev.meshguard.core.time.Clock;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Verifies one token against the providers reading its location, in jwt_verify_lib's order:
 * format, issuer, {@code nbf}/{@code exp} with the clock skew, audiences, then the signature
 * against the provider's keys ({@link JwksCache}, refetched once on an unknown {@code kid}). A
 * failure is a {@link Rejection} carrying Envoy's status text.
 */
final class JwtVerifier {

  /** Envoy's status texts ({@code source/common/jwt/status.cc getStatusString}). */
  static final String BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
  static final String HEADER_BAD_BASE64 = "Jwt header is an invalid Base64url encoded";
  static final String HEADER_BAD_JSON = "Jwt header is an invalid JSON";
  static final String HEADER_BAD_ALG = "Jwt header [alg] field is required and must be a string";
  static final String HEADER_ALG_NOT_IMPLEMENTED = "Jwt header [alg] is not supported";
  static final String HEADER_BAD_KID = "Jwt header [kid] field is not a string";
  static final String PAYLOAD_BAD_BASE64 = "Jwt payload is an invalid Base64url encoded";
  static final String PAYLOAD_BAD_JSON = "Jwt payload is an invalid JSON";
  static final String SIGNATURE_BAD_BASE64 = "Jwt signature is an invalid Base64url encoded";
  static final String NOT_YET_VALID = "Jwt not yet valid";
  static final String EXPIRED = "Jwt is expired";
  static final String UNKNOWN_ISSUER = "Jwt issuer is not configured";
  static final String AUDIENCE_NOT_ALLOWED = "Audiences in Jwt are not allowed";
  static final String VERIFICATION_FAILS = "Jwt verification fails";
  static final String KID_ALG_MISMATCH = "Jwks doesn't have key to match kid or alg from Jwt";
  static final String NO_VALID_KEYS = "Jwks doesn't have any valid public key";
  static final String FETCH_FAILED = "Jwks remote fetch is failed";

  /** Tokens longer than this are rejected as malformed before any parsing (budget on untrusted input). */
  static final int MAX_TOKEN_LENGTH = 16 * 1024;

  private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]*");

  /** A token that verified: who issued it, where it was found, its payload and base64url payload segment. */
  record Verified(Provider provider, Location location, Map<String, Object> payload, String payloadPart) {}

  /** A failure: Envoy's status text. */
  static final class Rejection extends Exception {
    private static final long serialVersionUID = 1L;

    Rejection(String message) {
      super(message, null, false, false);
    }
  }

  private final JwksCache jwks;
  private final JwtOptions options;
  private final Clock clock;

  JwtVerifier(JwksCache jwks, JwtOptions options, Clock clock) {
    this.jwks = jwks;
    this.options = options;
    this.clock = clock;
  }

  /**
   * {@code token}, found at {@code location}, verified by the provider among {@code candidates}
   * its {@code iss} picks.
   *
   * @throws Rejection with Envoy's status text when any check fails
   */
  Verified verify(String token, Location location, List<Provider> candidates) throws Rejection {
    if (token.length() > MAX_TOKEN_LENGTH) {
      throw new Rejection(BAD_FORMAT);
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new Rejection(BAD_FORMAT);
    }
    Map<String, Object> headerJson = json(parts[0], HEADER_BAD_BASE64, HEADER_BAD_JSON);
    if (!(headerJson.get("alg") instanceof String alg)) {
      throw new Rejection(HEADER_BAD_ALG);
    }
    Family family = Family.of(alg);
    if (family == null) {
      throw new Rejection(HEADER_ALG_NOT_IMPLEMENTED);
    }
    Object kidValue = headerJson.get("kid");
    if (kidValue != null && !(kidValue instanceof String)) {
      throw new Rejection(HEADER_BAD_KID);
    }
    String kid = (String) kidValue;
    Map<String, Object> payload = json(parts[1], PAYLOAD_BAD_BASE64, PAYLOAD_BAD_JSON);
    if (!BASE64URL.matcher(parts[2]).matches()) {
      throw new Rejection(SIGNATURE_BAD_BASE64);
    }
    checkTypes(payload);

    String iss = payload.get("iss") instanceof String s ? s : "";
    Provider provider = null;
    for (Provider p : candidates) {
      if (!p.issuer().isEmpty() && p.issuer().equals(iss)) {
        provider = p;
        break;
      }
    }
    if (provider == null) {
      for (Provider p : candidates) {
        if (p.issuer().isEmpty()) {
          provider = p;
          break;
        }
      }
    }
    if (provider == null) {
      throw new Rejection(UNKNOWN_ISSUER);
    }

    long now = clock.now().getEpochSecond();
    long skew = options.clockSkew().toSeconds();
    long nbf = seconds(payload.get("nbf"));
    long exp = seconds(payload.get("exp"));
    if (now + skew < nbf) {
      throw new Rejection(NOT_YET_VALID);
    }
    if (exp != 0 && now > exp + skew) {
      throw new Rejection(EXPIRED);
    }

    if (!provider.audiences().isEmpty() && !audienceAllowed(payload.get("aud"), provider.audiences())) {
      throw new Rejection(AUDIENCE_NOT_ALLOWED);
    }

    JWSHeader header;
    try {
      header = JWSHeader.parse(new Base64URL(parts[0]));
    } catch (ParseException e) {
      throw new Rejection(HEADER_BAD_JSON);
    }
    byte[] signingInput = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
    Base64URL signature = new Base64URL(parts[2]);

    JWKSet keys;
    if (provider.inlineKeys() != null) {
      keys = provider.inlineKeys();
    } else if (provider.jwksUri() != null && !provider.jwksUri().isEmpty()) {
      keys = jwks.keys(provider.jwksUri(), provider.timeout());
      if (keys == null) {
        throw new Rejection(FETCH_FAILED);
      }
    } else {
      // OpenID discovery from the issuer (istiod's fallback) is not done here.
      throw new Rejection(NO_VALID_KEYS);
    }
    Match match = verifySignature(keys, header, alg, kid, family, signingInput, signature);
    if (match == Match.NO_KEY && provider.inlineKeys() == null) {
      // Key rotation: the issuer signs with a key our copy lacks. One rate-limited refetch.
      JWKSet fresh = jwks.refetch(provider.jwksUri(), keys, provider.timeout());
      if (fresh != null) {
        match = verifySignature(fresh, header, alg, kid, family, signingInput, signature);
      }
    }
    switch (match) {
      case VERIFIED -> {
        return new Verified(provider, location, payload, parts[1]);
      }
      case NO_KEY -> throw new Rejection(keys.getKeys().isEmpty() ? NO_VALID_KEYS : KID_ALG_MISMATCH);
      default -> throw new Rejection(VERIFICATION_FAILS);
    }
  }

  private static Map<String, Object> json(String part, String badBase64, String badJson) throws Rejection {
    if (part.isEmpty() || !BASE64URL.matcher(part).matches()) {
      throw new Rejection(badBase64);
    }
    String text;
    try {
      text = new String(java.util.Base64.getUrlDecoder().decode(part), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new Rejection(badBase64);
    }
    try {
      return JSONObjectUtils.parse(text);
    } catch (ParseException | RuntimeException e) {
      throw new Rejection(badJson);
    }
  }

  /** jwt_verify_lib {@code Jwt::parseFromString}'s type checks on the registered claims. */
  private static void checkTypes(Map<String, Object> payload) throws Rejection {
    for (String claim : List.of("iss", "sub", "jti")) {
      Object v = payload.get(claim);
      if (v != null && !(v instanceof String)) {
        throw new Rejection("Jwt payload [" + claim + "] field is not a string");
      }
    }
    for (String claim : List.of("iat", "nbf", "exp")) {
      Object v = payload.get(claim);
      if (v == null) {
        continue;
      }
      if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
        throw new Rejection("Jwt payload [" + claim + "] field is not an integer");
      }
      if (n.doubleValue() < 0 || n.doubleValue() >= 0x1p63) {
        throw new Rejection("Jwt payload [" + claim + "] field is not a positive 64 bit integer");
      }
    }
    Object aud = payload.get("aud");
    if (aud != null && !(aud instanceof String)) {
      if (!(aud instanceof List<?> list) || list.stream().anyMatch(x -> !(x instanceof String))) {
        throw new Rejection("Jwt payload [aud] field is not a string or string list");
      }
    }
  }

  private static long seconds(Object v) {
    return v instanceof Number n ? n.longValue() : 0;
  }

  private static boolean audienceAllowed(Object aud, Set<String> allowed) {
    if (aud instanceof String s) {
      return allowed.contains(sanitizeAudience(s));
    }
    if (aud instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof String s && allowed.contains(sanitizeAudience(s))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * jwt_verify_lib {@code check_audience.cc}: {@code http://} or {@code https://} and one trailing
   * {@code /} are ignored when comparing audiences.
   */
  static String sanitizeAudience(String aud) {
    String a = aud;
    if (a.startsWith("http://")) {
      a = a.substring(7);
    } else if (a.startsWith("https://")) {
      a = a.substring(8);
    }
    if (a.endsWith("/")) {
      a = a.substring(0, a.length() - 1);
    }
    return a;
  }
}

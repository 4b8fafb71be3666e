package dev.meshguard.ca.workload;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.meshguard.ca.JwtSigningKey;
import dev.meshguard.ca.TrustBundle;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * JWT-SVIDs (JWT-SVID.md): issue them with the active authority's key, and validate them against
 * every published JWT authority. Stateless; never throws for any token.
 */
final class JwtSvids {
  /** A JWT-SVID is a few hundred bytes; anything this long is refused unparsed. */
  static final int MAX_TOKEN_CHARS = 16 * 1024;

  private JwtSvids() {}

  /** The outcome of {@link #validate}. */
  sealed interface Validation {}

  /** A valid JWT-SVID: its subject and all its claims. */
  record Valid(SpiffeId spiffeId, Struct claims) implements Validation {}

  /** An invalid one, and why. */
  record Invalid(String reason) implements Validation {}

  /**
   * A JWT-SVID for {@code id}: {@code sub}, {@code aud}, {@code exp} (now + ttl) and {@code iat},
   * header {@code alg}, {@code kid}, {@code typ: JWT}.
   */
  static String issue(JwtSigningKey key, SpiffeId id, List<String> audience, Instant now, Duration ttl)
      throws ConfigException {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .subject(id.toString())
        .audience(List.copyOf(audience))
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl)))
        .build();
    return key.sign(claims);
  }

  /**
   * Validates {@code token} for {@code audience} at {@code now} (JWT-SVID.md §3-4): a JWS signed by
   * a published key of {@code bundle} (by {@code kid}, with that key's algorithm), {@code typ}
   * absent or {@code JWT}/{@code JOSE}, a SPIFFE ID {@code sub} of the bundle's trust domain,
   * {@code aud} containing {@code audience}, and {@code exp} after now.
   */
  static Validation validate(String token, String audience, TrustBundle bundle, Instant now) {
    if (token.length() > MAX_TOKEN_CHARS) {
      return new Invalid("the token is " + token.length() + " characters, more than " + MAX_TOKEN_CHARS);
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException | RuntimeException e) {
      return new Invalid("the token is not a signed JWT: " + e.getMessage());
    }
    JOSEObjectType type = jwt.getHeader().getType();
    if (type != null && !type.equals(JOSEObjectType.JWT) && !type.equals(JOSEObjectType.JOSE)) {
      return new Invalid("the token's typ is " + type + "; a JWT-SVID's is absent, JWT or JOSE");
    }
    String kid = jwt.getHeader().getKeyID();
    if (kid == null) {
      return new Invalid("the token has no kid");
    }
    JwtSigningKey key = bundle.jwtAuthority(kid);
    if (key == null) {
      return new Invalid("the token's kid " + kid + " is not a key of trust domain " + bundle.trustDomain());
    }
    if (!key.jwsAlgorithm().equals(jwt.getHeader().getAlgorithm())) {
      return new Invalid("the token's alg " + jwt.getHeader().getAlgorithm() + " is not its key's " + key.jwsAlgorithm());
    }
    if (!key.verifies(jwt)) {
      return new Invalid("the token's signature does not verify");
    }
    if (claims.getSubject() == null) {
      return new Invalid("the token has no sub");
    }
    SpiffeId subject;
    try {
      subject = SpiffeId.parse(claims.getSubject());
    } catch (InvalidSpiffeIdException e) {
      return new Invalid("the token's sub is not a SPIFFE ID: " + e.getMessage());
    }
    if (!subject.trustDomain().equals(bundle.trustDomain()) || subject.isTrustDomainId()) {
      return new Invalid("the token's sub " + subject + " is not a workload of trust domain " + bundle.trustDomain());
    }
    Date expiry = claims.getExpirationTime();
    if (expiry == null) {
      return new Invalid("the token has no exp");
    }
    if (!now.isBefore(expiry.toInstant())) {
      return new Invalid("the token expired at " + expiry.toInstant());
    }
    List<String> audiences = claims.getAudience();
    if (audiences == null || !audiences.contains(audience)) {
      return new Invalid("the token's aud " + audiences + " does not contain " + audience);
    }
    return new Valid(subject, struct(claims.toJSONObject()));
  }

  /** JSON claims as a protobuf Struct (numbers as doubles, as google.protobuf.Value holds them). */
  static Struct struct(Map<String, Object> json) {
    Struct.Builder struct = Struct.newBuilder();
    json.forEach((name, value) -> struct.putFields(name, value(value)));
    return struct.build();
  }

  @SuppressWarnings("unchecked")
  private static Value value(Object value) {
    return switch (value) {
      case null -> Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
      case String text -> Value.newBuilder().setStringValue(text).build();
      case Boolean bool -> Value.newBuilder().setBoolValue(bool).build();
      case Number number -> Value.newBuilder().setNumberValue(number.doubleValue()).build();
      case Date date -> Value.newBuilder().setNumberValue(date.getTime() / 1000).build();
      case Map<?, ?> map -> Value.newBuilder().setStructValue(struct((Map<String, Object>) map)).build();
      case List<?> list -> {
        ListValue.Builder items = ListValue.newBuilder();
        list.forEach(item -> items.addValues(value(item)));
        yield Value.newBuilder().setListValue(items).build();
      }
      default -> Value.newBuilder().setStringValue(value.toString()).build();
    };
  }
}

package dev.meshguard.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.BoolValue;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
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
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.meshguard.core.config.Durations;
import dev.meshguard.core.time.Clock;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.HttpAttributes;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.policy.Workload;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.RequestAuthentication;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * Enforces Istio {@code RequestAuthentication} in the server, as Envoy's jwt_authn filter does
 * for the config istiod generates (istio {@code pilot/pkg/security/authn/policy_applier.go}: one
 * provider per {@code jwtRule}, {@code payload_in_metadata} the issuer, the requirement "any
 * provider, or the token missing" ({@code allow_missing})), for deployments without that filter.
 *
 * <ul>
 *   <li>A request that already carries a verified payload from {@code metadata_context}
 *       ({@code envoy.filters.http.jwt_authn}) is left as it is: Envoy verified it.
 *   <li>Tokens are taken from each rule's {@code fromHeaders} (name and prefix),
 *       {@code fromParams} (query parameters) and {@code fromCookies}; a rule with none of them
 *       uses Envoy's defaults, {@code Authorization: Bearer} and the {@code access_token}
 *       parameter. No token: the request goes on with no request principal.
 *   <li>Every token found must verify (Envoy {@code authenticator.cc}: "if a request has multiple
 *       tokens, all of them must be valid"), in Envoy's order: format; issuer (a token's {@code iss}
 *       picks the rule with that issuer among the rules reading that location, else one without an
 *       issuer); {@code nbf}/{@code exp} with the clock skew; {@code audiences}; the signature
 *       against the rule's {@code jwks} (inline, preferred) or {@code jwksUri} keys
 *       ({@link JwksCache}), refetched once on an unknown {@code kid}. A failure rejects the
 *       request with jwt_authn's status text: HTTP 401 with {@code WWW-Authenticate}, except
 *       403 for a disallowed audience (envoy {@code jwt_authn/filter.cc onComplete}).
 *   <li>A verified payload becomes the request's JWT payload in jwt_authn's shape: under its
 *       issuer in the {@code envoy.filters.http.jwt_authn} metadata, picked by
 *       {@link CheckRequestAttributes}' rule, with {@code scope}, {@code permission} and the rule's
 *       {@code spaceDelimitedClaims} split on spaces into lists ({@code normalize_payload_in_metadata}).
 *   <li>On allow: {@code outputPayloadToHeader} (the token's base64url payload segment, as Envoy
 *       forwards it) and {@code outputClaimToHeaders} (string, number and bool claims by dotted
 *       path) are set upstream; without {@code forwardOriginalToken} the header the token came
 *       from is removed (Envoy removes header locations only; tokens in query parameters and
 *       cookies stay, as there).
 * </ul>
 *
 * <p>Per workload, the rules are compiled once per policy revision and cached. Nothing here logs,
 * throws, or puts a token into a reason.
 */
final class JwtAuthenticator {

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

  static final int UNAUTHENTICATED = io.grpc.Status.Code.UNAUTHENTICATED.value();
  /** Envoy's {@code MaximumUriLength} for the realm in {@code WWW-Authenticate}. */
  static final int MAX_REALM_PATH = 256;
  /** Tokens longer than this are rejected as malformed before any parsing (budget on untrusted input). */
  static final int MAX_TOKEN_LENGTH = 16 * 1024;

  private static final Set<String> SPACE_DELIMITED = Set.of("scope", "permission");
  private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]*");

  /** The outcome for a request: go on (maybe with a payload and headers), or be rejected. */
  record Result(RequestAttributes attributes, String failure, int httpStatus, String realm,
      List<HeaderValueOption> headers, List<String> headersToRemove) {

    static Result pass(RequestAttributes attributes) {
      return new Result(attributes, null, 0, null, List.of(), List.of());
    }

    boolean rejected() {
      return failure != null;
    }

    /** {@code response} (an allow) with the token's upstream headers; other responses unchanged. */
    CheckResponse onAllow(CheckResponse response) {
      if ((headers.isEmpty() && headersToRemove.isEmpty()) || response.getStatus().getCode() != 0
          || !response.hasOkResponse()) {
        return response;
      }
      OkHttpResponse.Builder ok = response.getOkResponse().toBuilder();
      ok.addAllHeaders(headers);
      for (String name : headersToRemove) {
        if (!ok.getHeadersToRemoveList().contains(name)) {
          ok.addHeadersToRemove(name);
        }
      }
      return response.toBuilder().setOkResponse(ok).build();
    }

    /**
     * {@code denial} (a deny the service built for this request) reshaped as jwt_authn's answer:
     * gRPC status UNAUTHENTICATED, HTTP 401 (403 for audiences), the status text as the body and
     * {@code WWW-Authenticate: Bearer realm="<uri>", error="invalid_token"}.
     */
    @SuppressWarnings("deprecation")
    CheckResponse onReject(CheckResponse denial) {
      CheckResponse.Builder b = denial.toBuilder();
      b.setStatus(denial.getStatus().toBuilder().setCode(UNAUTHENTICATED));
      if (denial.hasDeniedResponse()) {
        StatusCode code = httpStatus == 403 ? StatusCode.Forbidden : StatusCode.Unauthorized;
        b.setDeniedResponse(DeniedHttpResponse.newBuilder()
            .setStatus(HttpStatus.newBuilder().setCode(code))
            .setBody(failure)
            .addHeaders(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey("www-authenticate")
                    .setValue("Bearer realm=\"" + realm + "\", error=\"invalid_token\""))
                .setAppend(BoolValue.of(false))));
      }
      return b.build();
    }
  }

  /** Where a token is read from. */
  sealed interface Location {
    /** A header (lower-case name) whose value starts with {@code prefix}, then the token. */
    record Header(String name, String prefix) implements Location {}

    /** A query parameter. */
    record Param(String name) implements Location {}

    /** A cookie. */
    record Cookie(String name) implements Location {}
  }

  /** One jwtRule, compiled. */
  record Provider(String ref, String issuer, Set<String> audiences, JWKSet inlineKeys, String jwksUri,
      Duration timeout, String payloadHeader, List<JwtRule.ClaimToHeader> claimHeaders, boolean forward,
      Set<String> spaceDelimited) {}

  /** A workload's rules: each location with the providers that read it, in rule order. */
  record Plan(Map<Location, List<Provider>> locations) {
    static final Plan NONE = new Plan(Map.of());
  }

  /** The plans of one policy revision; replaced as a whole when the engine changes. */
  private record Plans(PolicyEngine engine, Cache<Workload, Plan> byWorkload) {}

  private record Verified(Provider provider, Location location, Map<String, Object> payload, String payloadPart) {}

  /** A failure: Envoy's status text. */
  private static final class Rejection extends Exception {
    private static final long serialVersionUID = 1L;

    Rejection(String message) {
      super(message, null, false, false);
    }
  }

  private final JwksCache jwks;
  private final JwtOptions options;
  private final Clock clock;
  /** Only the serving revision's plans are kept, so no old engine stays reachable from here. */
  private final AtomicReference<Plans> plans = new AtomicReference<>();

  JwtAuthenticator(JwksCache jwks, JwtOptions options, Clock clock) {
    this.jwks = jwks;
    this.options = options;
    this.clock = clock;
  }

  private Plan planFor(PolicyEngine engine, Workload workload) {
    Plans current = plans.get();
    if (current == null || current.engine() != engine) {
      Plans fresh = new Plans(engine, Caffeine.newBuilder().maximumSize(PolicyEngine.DEFAULT_MAX_CACHED_WORKLOADS)
          .executor(Runnable::run).<Workload, Plan>build());
      // A request still holding the previous engine during a swap may replace the new one here;
      // the next request swaps back. Either way a plan is built from the engine the request uses.
      plans.set(fresh);
      current = fresh;
    }
    return current.byWorkload().get(workload, w -> plan(engine, w));
  }

  /**
   * Starts fetching every {@code jwksUri} of {@code engine}'s RequestAuthentications that uses
   * no inline {@code jwks}, without waiting: run when a policy revision is loaded, before it
   * serves, so the first request with a token finds keys (Envoy's ext_authz timeout, 200 ms by
   * default, is shorter than a cold fetch may take).
   */
  void prefetch(PolicyEngine engine) {
    for (RequestAuthentication ra : engine.requestAuthentications()) {
      for (JwtRule rule : ra.jwtRules()) {
        if ((rule.jwks() == null || rule.jwks().isEmpty()) && rule.jwksUri() != null && !rule.jwksUri().isEmpty()) {
          jwks.prefetch(rule.jwksUri());
        }
      }
    }
  }

  /** The request's authentication under {@code engine}'s RequestAuthentications. Never throws. */
  Result authenticate(PolicyEngine engine, RequestAttributes attributes) {
    if (attributes.http() == null || attributes.jwtPayload() != null || !engine.hasRequestAuthentications()) {
      return Result.pass(attributes);
    }
    Plan plan = planFor(engine, attributes.workload());
    if (plan.locations().isEmpty()) {
      return Result.pass(attributes);
    }
    HttpAttributes http = attributes.http();
    List<Verified> verified = new ArrayList<>();
    for (Map.Entry<Location, List<Provider>> e : plan.locations().entrySet()) {
      String token = extract(e.getKey(), http);
      if (token == null) {
        continue;
      }
      try {
        verified.add(verify(token, e.getKey(), e.getValue()));
      } catch (Rejection r) {
        int status = r.getMessage().equals(AUDIENCE_NOT_ALLOWED) ? 403 : 401;
        return new Result(attributes, r.getMessage(), status, realm(http), List.of(), List.of());
      }
    }
    if (verified.isEmpty()) {
      return Result.pass(attributes);
    }
    return accepted(attributes, verified);
  }

  private Result accepted(RequestAttributes attributes, List<Verified> verified) {
    Struct.Builder metadata = Struct.newBuilder();
    List<HeaderValueOption> headers = new ArrayList<>();
    Set<String> remove = new LinkedHashSet<>();
    for (Verified v : verified) {
      Provider p = v.provider();
      Object iss = v.payload().get("iss");
      String key = p.issuer().isEmpty() ? (iss instanceof String s ? s : "") : p.issuer();
      if (!metadata.containsFields(key)) {
        metadata.putFields(key, Value.newBuilder().setStructValue(struct(v.payload(), p.spaceDelimited())).build());
      }
      if (!p.payloadHeader().isEmpty()) {
        headers.add(header(p.payloadHeader(), v.payloadPart()));
      }
      for (JwtRule.ClaimToHeader c : p.claimHeaders()) {
        String value = claimText(v.payload(), c.claim());
        if (value != null && !value.isEmpty()) {
          headers.add(header(c.header(), value));
        }
      }
      if (!p.forward() && v.location() instanceof Location.Header h) {
        remove.add(h.name());
      }
    }
    Struct jwtMetadata = metadata.build();
    // The payload CheckRequestAttributes would pick from jwt_authn's metadata: the first by key.
    Struct payload = new TreeMap<>(jwtMetadata.getFieldsMap()).firstEntry().getValue().getStructValue();
    Map<String, Struct> filterMetadata = new TreeMap<>(attributes.filterMetadata());
    filterMetadata.put(CheckRequestAttributes.JWT_AUTHN_FILTER, jwtMetadata);
    RequestAttributes authenticated = new RequestAttributes(attributes.workload(), attributes.sourcePrincipal(),
        attributes.sourceIp(), attributes.remoteIp(), attributes.destinationIp(), attributes.destinationPort(),
        attributes.sni(), attributes.http(), payload, filterMetadata);
    return new Result(authenticated, null, 0, null, List.copyOf(headers), List.copyOf(remove));
  }

  @SuppressWarnings("deprecation")
  private static HeaderValueOption header(String name, String value) {
    // append=false: set, overwriting what the client sent (Envoy's jwt_authn adds a copy; a
    // client-supplied value must not survive next to the verified one).
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name.toLowerCase(Locale.ROOT)).setValue(value))
        .setAppend(BoolValue.of(false)).build();
  }

  // ---------------------------------------------------------------------------------------------
  // Compiling the rules

  private Plan plan(PolicyEngine engine, Workload workload) {
    List<RequestAuthentication> applicable = engine.requestAuthentications(workload);
    Map<Location, List<Provider>> locations = new LinkedHashMap<>();
    for (RequestAuthentication ra : applicable) {
      for (int i = 0; i < ra.jwtRules().size(); i++) {
        JwtRule rule = ra.jwtRules().get(i);
        Provider provider = provider(ra.ref() + " jwtRules[" + i + "]", rule);
        List<Location> from = new ArrayList<>();
        rule.fromHeaders().forEach(h -> from.add(new Location.Header(h.name().toLowerCase(Locale.ROOT), h.prefix())));
        rule.fromParams().forEach(p -> from.add(new Location.Param(p)));
        rule.fromCookies().forEach(c -> from.add(new Location.Cookie(c)));
        if (from.isEmpty()) {
          // Envoy's JwtProvider defaults: Authorization with "Bearer ", then access_token.
          from.add(new Location.Header("authorization", "Bearer "));
          from.add(new Location.Param("access_token"));
        }
        for (Location l : from) {
          locations.computeIfAbsent(l, x -> new ArrayList<>()).add(provider);
        }
      }
    }
    if (locations.isEmpty()) {
      return Plan.NONE;
    }
    locations.replaceAll((l, list) -> List.copyOf(list));
    return new Plan(java.util.Collections.unmodifiableMap(locations));
  }

  private Provider provider(String ref, JwtRule rule) {
    Set<String> audiences = new LinkedHashSet<>();
    rule.audiences().forEach(a -> audiences.add(sanitizeAudience(a)));
    JWKSet inline = null;
    if (rule.jwks() != null && !rule.jwks().isEmpty()) {
      try {
        inline = JWKSet.parse(rule.jwks());
      } catch (ParseException e) {
        inline = new JWKSet(); // no valid key: tokens for this issuer fail (Envoy: JwksNoValidKeys)
      }
    }
    Duration timeout = options.jwksTimeout();
    if (rule.timeout() != null) {
      try {
        timeout = Durations.parse(rule.timeout());
      } catch (IllegalArgumentException e) {
        // validated at load; keep the default
      }
    }
    Set<String> spaceDelimited = new LinkedHashSet<>(SPACE_DELIMITED);
    spaceDelimited.addAll(rule.spaceDelimitedClaims());
    return new Provider(ref, rule.issuer(), Set.copyOf(audiences), inline, rule.jwksUri(), timeout,
        rule.outputPayloadToHeader() == null ? "" : rule.outputPayloadToHeader(), rule.outputClaimToHeaders(),
        rule.forwardOriginalToken(), Set.copyOf(spaceDelimited));
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

  // ---------------------------------------------------------------------------------------------
  // Extraction

  /** The token at {@code location}, or null. */
  static String extract(Location location, HttpAttributes http) {
    String token = switch (location) {
      case Location.Header h -> {
        String v = http.headers().get(h.name());
        if (v == null) {
          yield null;
        }
        if (h.prefix().isEmpty()) {
          yield v.strip();
        }
        // The auth scheme of "Bearer " is case-insensitive (RFC 7235 §2.1); compare prefixes so.
        yield v.regionMatches(true, 0, h.prefix(), 0, h.prefix().length())
            ? v.substring(h.prefix().length()).strip() : null;
      }
      case Location.Param p -> queryParam(http.path(), p.name());
      case Location.Cookie c -> cookie(http.headers().get("cookie"), c.name());
    };
    return token == null || token.isEmpty() ? null : token;
  }

  static String queryParam(String path, String name) {
    int q = path.indexOf('?');
    if (q < 0) {
      return null;
    }
    int end = path.indexOf('#', q);
    String query = path.substring(q + 1, end < 0 ? path.length() : end);
    for (String pair : query.split("&", -1)) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (decode(key).equals(name)) {
        return eq < 0 ? "" : decode(pair.substring(eq + 1));
      }
    }
    return null;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  static String cookie(String header, String name) {
    if (header == null) {
      return null;
    }
    for (String part : header.split("[;,]", -1)) {
      String p = part.strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equals(name)) {
        String v = p.substring(eq + 1).strip();
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
      }
    }
    return null;
  }

  /** Envoy's {@code buildOriginalUri}: {@code x-forwarded-proto://host/path}, the path cut at 256. */
  private static String realm(HttpAttributes http) {
    String scheme = http.headers().getOrDefault("x-forwarded-proto", http.headers().getOrDefault(":scheme", "http"));
    String path = http.path();
    if (path.length() > MAX_REALM_PATH) {
      path = path.substring(0, MAX_REALM_PATH);
    }
    // The realm goes back to the client only; strip quotes so the header stays well-formed.
    return (scheme + "://" + http.host() + path).replace("\"", "%22");
  }

  // ---------------------------------------------------------------------------------------------
  // Verification, in jwt_verify_lib's order

  private Verified verify(String token, Location location, List<Provider> candidates) throws Rejection {
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

  private enum Match { VERIFIED, NO_KEY, FAILED }

  /**
   * jwt_verify_lib {@code verify.cc}: a key is tried when its {@code kid} is absent or equals the
   * token's (a token without {@code kid} tries every key), its {@code alg} is absent or equal, and
   * its type suits the algorithm.
   */
  private static Match verifySignature(JWKSet keys, JWSHeader header, String alg, String kid, Family family,
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

  private static final Pattern COMPACT_JWS =
      Pattern.compile("[A-Za-z0-9_-]{2,}(?:\\.|%2[Ee])[A-Za-z0-9_-]{2,}(?:\\.|%2[Ee])[A-Za-z0-9_-]*");

  /**
   * {@code path} with the value of every query parameter that looks like a compact JWS
   * replaced by {@code REDACTED}: what the audit log records, so a token passed as
   * {@code access_token} (or any {@code fromParams}) never reaches it. Other paths are returned as
   * they are.
   */
  static String redactTokens(String path) {
    int q = path == null ? -1 : path.indexOf('?');
    if (q < 0) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length()).append(path, 0, q + 1);
    String[] pairs = path.substring(q + 1).split("&", -1);
    for (int i = 0; i < pairs.length; i++) {
      String pair = pairs[i];
      int eq = pair.indexOf('=');
      if (i > 0) {
        out.append('&');
      }
      if (eq >= 0 && COMPACT_JWS.matcher(pair).region(eq + 1, pair.length()).lookingAt()) {
        out.append(pair, 0, eq + 1).append("REDACTED");
      } else {
        out.append(pair);
      }
    }
    return out.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Payload shapes

  /** The payload as jwt_authn puts it in metadata, space-delimited claims split into lists. */
  static Struct struct(Map<String, Object> payload, Set<String> spaceDelimited) {
    Struct.Builder b = Struct.newBuilder();
    for (Map.Entry<String, Object> e : new TreeMap<>(payload).entrySet()) {
      Object v = e.getValue();
      if (spaceDelimited.contains(e.getKey()) && v instanceof String s) {
        ListValue.Builder list = ListValue.newBuilder();
        for (String part : s.split(" ")) {
          if (!part.isEmpty()) {
            list.addValues(Value.newBuilder().setStringValue(part));
          }
        }
        b.putFields(e.getKey(), Value.newBuilder().setListValue(list).build());
      } else {
        b.putFields(e.getKey(), value(v, 0));
      }
    }
    return b.build();
  }

  private static final int MAX_DEPTH = 32;

  private static Value value(Object v, int depth) {
    if (depth > MAX_DEPTH) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (v instanceof String s) {
      return Value.newBuilder().setStringValue(s).build();
    }
    if (v instanceof Boolean bool) {
      return Value.newBuilder().setBoolValue(bool).build();
    }
    if (v instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (v instanceof List<?> list) {
      ListValue.Builder l = ListValue.newBuilder();
      for (Object o : list) {
        l.addValues(value(o, depth + 1));
      }
      return Value.newBuilder().setListValue(l).build();
    }
    if (v instanceof Map<?, ?> map) {
      Struct.Builder s = Struct.newBuilder();
      Map<String, Object> sorted = new HashMap<>();
      map.forEach((k, x) -> sorted.put(String.valueOf(k), x));
      new TreeMap<>(sorted).forEach((k, x) -> s.putFields(k, value(x, depth + 1)));
      return Value.newBuilder().setStructValue(s).build();
    }
    return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
  }

  /**
   * Envoy {@code addJWTClaimToHeader}: the claim at a dotted path as text when it is a string, a
   * number (an integer when whole and non-negative, else C++ {@code std::to_string}'s six
   * decimals) or a bool; null otherwise.
   */
  static String claimText(Map<String, Object> payload, String path) {
    Object current = payload;
    for (String segment : path.split("\\.", -1)) {
      if (!(current instanceof Map<?, ?> map)) {
        return null;
      }
      current = map.get(segment);
    }
    if (current instanceof String s) {
      return s;
    }
    if (current instanceof Boolean b) {
      return b ? "true" : "false";
    }
    if (current instanceof Number n) {
      double d = n.doubleValue();
      if (d < 0 || d >= 0x1p64 || d != Math.rint(d)) {
        return String.format(Locale.ROOT, "%f", d);
      }
      return n instanceof Long l ? Long.toUnsignedString(l) : new java.math.BigDecimal(d).toBigInteger().toString();
    }
    return null;
  }
}

package dev.meshguard.authz;

import com.google.protobuf.BoolValue;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.authz.JwtAuthenticator.Result;
import dev.meshguard.authz.JwtRulePlans.Provider;
import dev.meshguard.authz.JwtTokenExtractor.Location;
import dev.meshguard.authz.JwtVerifier.Verified;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.HttpAttributes;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.policy.model.JwtRule;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What verified tokens produce, in jwt_authn's shapes: the payloads as {@code envoy.filters.http.jwt_authn}
 * metadata, {@code outputPayloadToHeader} and {@code outputClaimToHeaders} headers, the headers the
 * tokens came from removed; and the realm of a rejection's {@code WWW-Authenticate}.
 */
final class JwtAuthnOutput {

  /** Envoy's {@code MaximumUriLength} for the realm in {@code WWW-Authenticate}. */
  static final int MAX_REALM_PATH = 256;

  private JwtAuthnOutput() {}

  /** The request's result once every token it carries verified ({@code verified} is not empty). */
  static Result accepted(RequestAttributes attributes, List<Verified> verified) {
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

  /** Envoy's {@code buildOriginalUri}: {@code x-forwarded-proto://host/path}, the path cut at 256. */
  static String realm(HttpAttributes http) {
    String scheme = http.headers().getOrDefault("x-forwarded-proto", http.headers().getOrDefault(":scheme", "http"));
    String path = http.path();
    if (path.length() > MAX_REALM_PATH) {
      path = path.substring(0, MAX_REALM_PATH);
    }
    // The realm goes back to the client only; strip quotes so the header stays well-formed.
    return (scheme + "://" + http.host() + path).replace("\"", "%22");
  }

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

package dev.meshguard.authz;

import com.google.protobuf.ByteString;
import dev.meshguard.policy.ExtensionProvider;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The request body a CUSTOM provider gets: what Envoy's ext_authz filter would have sent it had
 * Istio wired the provider straight to the proxy, given the provider's
 * {@code includeRequestBodyInCheck} (which istiod turns into Envoy's {@code with_request_body}).
 *
 * <p>meshguard only has the body its own Envoy sent it ({@code body}, or {@code raw_body} when that
 * filter packs bytes). From it, as Envoy's {@code with_request_body} and Istio's documentation
 * of {@code EnvoyExternalAuthorizationRequestBody} describe:
 * <ul>
 *   <li>no {@code includeRequestBodyInCheck}: no body, and no {@code x-envoy-auth-partial-body};
 *   <li>a body within {@code maxRequestBytes}: all of it, with {@code x-envoy-auth-partial-body: false}
 *       (or {@code true} when meshguard's own Envoy already cut it);
 *   <li>a longer body with {@code allowPartialMessage}: its first {@code maxRequestBytes} bytes
 *       and {@code x-envoy-auth-partial-body: true};
 *   <li>a longer body without it: the request is denied with <b>413</b> and the provider is not
 *       asked, whatever {@code failOpen} says (Istio: "this setting will have precedence over
 *       the failOpen field"). A body meshguard's Envoy already cut counts as longer: meshguard
 *       cannot give such a provider the whole body, so it fails closed.
 * </ul>
 * gRPC providers get the body in {@code body} (UTF-8, cut back to a whole character, since a
 * protobuf string must be valid UTF-8) or, with {@code packAsBytes}, in {@code raw_body}. HTTP
 * providers get the bytes as the request body with its {@code Content-Length}, as Envoy's HTTP
 * client sends it; {@code packAsBytes} does not apply to them (Istio: "has no effect for the
 * envoyExtAuthzHttp provider"). The {@code x-envoy-auth-partial-body} header travels with the
 * other request headers: a gRPC provider sees all of them, an HTTP provider only the ones its
 * {@code includeRequestHeadersInCheck} lets through (Envoy's {@code allowed_headers}).
 */
final class ProviderBody {

  /** Envoy's header saying whether the body it buffered is cut. */
  static final String PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body";

  /** What the provider gets. */
  sealed interface Shaped permits None, Body, TooLarge {}

  /** No body: the provider has no {@code includeRequestBodyInCheck}. */
  record None() implements Shaped {}

  /** The bytes to send (possibly empty) and whether they are cut. */
  record Body(byte[] bytes, boolean partial) implements Shaped {
    Body {
      bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
      return bytes.clone();
    }

    int length() {
      return bytes.length;
    }

    String partialHeader() {
      return partial ? "true" : "false";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Body b && b.partial == partial && Arrays.equals(b.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes) * 31 + Boolean.hashCode(partial);
    }

    @Override
    public String toString() {
      return "Body[" + bytes.length + " bytes" + (partial ? ", partial" : "") + "]";
    }
  }

  /** Longer than {@code maxRequestBytes} without {@code allowPartialMessage}: answered 413 here. */
  record TooLarge(int size, int maxRequestBytes, boolean alreadyCut) implements Shaped {
    /** The verdict: denied with 413, the provider not asked. */
    ProviderVerdict verdict() {
      CheckResponse response = CheckResponse.newBuilder()
          .setStatus(com.google.rpc.Status.newBuilder().setCode(AuthzService.PERMISSION_DENIED)
              .setMessage("request body over the provider's maxRequestBytes"))
          .setDeniedResponse(DeniedHttpResponse.newBuilder()
              .setStatus(HttpStatus.newBuilder().setCode(StatusCode.PayloadTooLarge)))
          .build();
      return new ProviderVerdict(ProviderVerdict.Kind.DENY, response, "request body of " + size + " bytes"
          + (alreadyCut ? " (already cut by Envoy)" : "") + " over maxRequestBytes " + maxRequestBytes
          + " without allowPartialMessage: 413, provider not asked");
    }
  }

  private static final None NONE = new None();

  private ProviderBody() {}

  /** What a provider with {@code config} (null: no body) gets of {@code http}'s body. */
  static Shaped shape(AttributeContext.HttpRequest http, ExtensionProvider.RequestBody config) {
    if (config == null) {
      return NONE;
    }
    ByteString raw = !http.getRawBody().isEmpty() ? http.getRawBody() : http.getBodyBytes();
    boolean alreadyCut = "true".equalsIgnoreCase(incomingPartialHeader(http));
    int max = config.maxRequestBytes();
    if (raw.size() > max || alreadyCut) {
      if (!config.allowPartialMessage()) {
        return new TooLarge(raw.size(), max, alreadyCut);
      }
      return new Body(raw.substring(0, Math.min(max, raw.size())).toByteArray(), true);
    }
    return new Body(raw.toByteArray(), false);
  }

  private static String incomingPartialHeader(AttributeContext.HttpRequest http) {
    for (var e : http.getHeadersMap().entrySet()) {
      if (e.getKey().equalsIgnoreCase(PARTIAL_BODY_HEADER)) {
        return e.getValue();
      }
    }
    for (HeaderValue hv : http.getHeaderMap().getHeadersList()) {
      if (hv.getKey().equalsIgnoreCase(PARTIAL_BODY_HEADER)) {
        return hv.getValue().isEmpty() ? hv.getRawValue().toString(StandardCharsets.UTF_8) : hv.getValue();
      }
    }
    return null;
  }

  /**
   * {@code request} as a gRPC provider gets it: body fields and the partial-body header set from
   * {@code shaped} (which must not be {@link TooLarge}). Returns {@code request} itself when there
   * is nothing to change, the common case of a bodiless request to a provider without a body setting.
   */
  static CheckRequest forGrpc(CheckRequest request, Shaped shaped, boolean packAsBytes) {
    AttributeContext.HttpRequest http = request.getAttributes().getRequest().getHttp();
    if (shaped instanceof None && http.getBody().isEmpty() && http.getRawBody().isEmpty()
        && incomingPartialHeader(http) == null) {
      return request;
    }
    CheckRequest.Builder b = request.toBuilder();
    AttributeContext.HttpRequest.Builder h = b.getAttributesBuilder().getRequestBuilder().getHttpBuilder();
    h.clearBody().clearRawBody();
    removePartialHeader(h);
    if (shaped instanceof Body body) {
      byte[] bytes = body.bytes();
      if (packAsBytes) {
        h.setRawBody(ByteString.copyFrom(bytes));
      } else {
        // Bytes that are not UTF-8 (a raw_body from meshguard's own Envoy) become U+FFFD: a
        // protobuf string cannot carry them.
        h.setBody(new String(bytes, 0, utf8Prefix(bytes), StandardCharsets.UTF_8));
      }
      if (h.getHeaderMap().getHeadersCount() > 0 && h.getHeadersCount() == 0) {
        h.getHeaderMapBuilder().addHeaders(HeaderValue.newBuilder().setKey(PARTIAL_BODY_HEADER)
            .setRawValue(ByteString.copyFromUtf8(body.partialHeader())));
      } else {
        h.putHeaders(PARTIAL_BODY_HEADER, body.partialHeader());
      }
    }
    return b.build();
  }

  private static void removePartialHeader(AttributeContext.HttpRequest.Builder h) {
    for (String key : java.util.List.copyOf(h.getHeadersMap().keySet())) {
      if (key.toLowerCase(Locale.ROOT).equals(PARTIAL_BODY_HEADER)) {
        h.removeHeaders(key);
      }
    }
    var raw = h.getHeaderMapBuilder();
    for (int i = raw.getHeadersCount() - 1; i >= 0; i--) {
      if (raw.getHeaders(i).getKey().equalsIgnoreCase(PARTIAL_BODY_HEADER)) {
        raw.removeHeaders(i);
      }
    }
  }

  /** The length of the longest prefix of {@code bytes} that does not end inside a UTF-8 sequence. */
  static int utf8Prefix(byte[] bytes) {
    int end = bytes.length;
    // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last sequence.
    int i = end - 1;
    int continuation = 0;
    while (i >= 0 && continuation < 3 && (bytes[i] & 0xC0) == 0x80) {
      i--;
      continuation++;
    }
    if (i < 0) {
      return end;
    }
    int lead = bytes[i] & 0xFF;
    int needed = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return end - i >= needed ? end : i;
  }
}

package dev.meshguard.authz;

import com.google.protobuf.BoolValue;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.policy.ExtensionProvider;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An {@code envoyExtAuthzHttp} provider, asked as Envoy's ext_authz {@code http_service} asks
 * (extauthz.md §2): the client's method, {@code pathPrefix} + the original {@code :path} (query
 * included), no body unless {@code includeRequestBodyInCheck} asks for it ({@link ProviderBody}),
 * and only the {@code Authorization} header plus those matching
 * {@code includeRequestHeadersInCheck}, with {@code includeAdditionalHeadersInCheck} set over them.
 *
 * <p>The answer is read as Envoy reads it and mapped onto a CheckResponse, so it passes through
 * the same way a gRPC provider's does: <b>exactly 200</b> allows, with the response headers
 * matching {@code headersToUpstreamOnAllow} set on the upstream request,
 * {@code headersToDownstreamOnAllow} added to the client's response and the names listed in
 * {@code x-envoy-auth-headers-to-remove} removed upstream; a <b>5xx</b> is an error (the failure
 * mode decides, as in Envoy); <b>any other status</b> denies with that status, the body, and the
 * headers matching {@code headersToDownstreamOnDeny} (all when the list is empty).
 *
 * <p>Written with the JDK's {@link HttpClient} (HTTP/1.1). It cannot set the restricted
 * {@code Host} header, so the provider sees its own authority as {@code Host}; the original
 * authority goes in {@code x-forwarded-host}. The call blocks the caller for at most the timeout.
 *
 * <p>With {@link ProviderTls} configured for the provider it is called over {@code https}, on the
 * server's {@code Crypto} ({@link ClientTls}: BCJSSE in FIPS mode), trusting the configured CAs,
 * checking the provider's certificate against the {@code service} host (or {@code server_name},
 * which is then also the SNI; or {@code spiffe_id}), and presenting the client certificate when one
 * is configured.
 */
final class HttpCustomProvider implements ProviderClient {

  /** Provider response bodies beyond this are cut: they go back to clients in a denied response. */
  static final int MAX_BODY_BYTES = 64 * 1024;

  /** Response headers that describe the provider's connection or body, never passed on. */
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "transfer-encoding",
      "keep-alive", "upgrade", "host", ":status", "date", "x-envoy-auth-headers-to-remove");

  /** Request headers the JDK client refuses to set (or sets itself). */
  private static final Set<String> RESTRICTED = Set.of("host", "content-length", "connection", "expect", "upgrade",
      "transfer-encoding", "keep-alive", "te", "trailer");

  private final ExtensionProvider provider;
  private final String base;
  private final HttpClient client;

  /** @param tls TLS to the provider, or null for plaintext */
  HttpCustomProvider(ExtensionProvider provider, ClientTls tls) throws ConfigException {
    this.provider = provider;
    String host = ProviderClient.host(provider.service());
    this.base = (tls == null ? "http://" : "https://") + (host.contains(":") ? "[" + host + "]" : host) + ":"
        + provider.port();
    HttpClient.Builder b = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(provider.timeout())
        .followRedirects(HttpClient.Redirect.NEVER);
    if (tls != null) {
      b.sslContext(tls.sslContext()).sslParameters(tls.sslParameters());
    }
    this.client = b.build();
  }

  @Override
  public ProviderVerdict check(CheckRequest request) {
    ProviderBody.Shaped shaped = ProviderBody.shape(request.getAttributes().getRequest().getHttp(),
        provider.includeRequestBodyInCheck());
    if (shaped instanceof ProviderBody.TooLarge tooLarge) {
      return tooLarge.verdict();
    }
    HttpRequest httpRequest;
    try {
      httpRequest = build(request, shaped);
    } catch (IllegalArgumentException e) {
      return ProviderVerdict.error("cannot build the check request: " + e.getMessage());
    }
    HttpResponse<InputStream> response;
    byte[] body;
    try {
      response = client.send(httpRequest, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        body = in.readNBytes(MAX_BODY_BYTES);
      }
    } catch (HttpTimeoutException e) {
      return ProviderVerdict.timeout("no answer within " + provider.timeout());
    } catch (IOException e) {
      return ProviderVerdict.error(e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ProviderVerdict.error("interrupted");
    } catch (RuntimeException e) {
      return ProviderVerdict.error(e.toString());
    }
    return read(response.statusCode(), response.headers().map(), body);
  }

  HttpRequest build(CheckRequest request, ProviderBody.Shaped body) {
    AttributeContext.HttpRequest h = request.getAttributes().getRequest().getHttp();
    Map<String, String> headers = headers(h);
    String path = !h.getPath().isEmpty() ? h.getPath() : headers.getOrDefault(":path", "/");
    String method = !h.getMethod().isEmpty() ? h.getMethod() : headers.getOrDefault(":method", "GET");
    // Envoy adds the partial-body header to the check's headers when it buffers a body; like any
    // other, it reaches an HTTP provider only through includeRequestHeadersInCheck.
    headers.remove(ProviderBody.PARTIAL_BODY_HEADER);
    HttpRequest.BodyPublisher publisher = HttpRequest.BodyPublishers.noBody();
    if (body instanceof ProviderBody.Body b) {
      headers.put(ProviderBody.PARTIAL_BODY_HEADER, b.partialHeader());
      publisher = HttpRequest.BodyPublishers.ofByteArray(b.bytes());
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + provider.pathPrefix() + path))
        .timeout(provider.timeout())
        .method(method, publisher);
    Map<String, String> send = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : headers.entrySet()) {
      String name = e.getKey();
      if (name.startsWith(":") || RESTRICTED.contains(name)) {
        continue;
      }
      if (name.equals("authorization") || ExtensionProvider.matches(provider.includeRequestHeadersInCheck(), name)) {
        send.put(name, e.getValue());
      }
    }
    String authority = !h.getHost().isEmpty() ? h.getHost() : headers.get(":authority");
    if (authority != null && !authority.isEmpty()) {
      send.put("x-forwarded-host", authority);
    }
    provider.includeAdditionalHeadersInCheck().forEach((k, v) -> {
      String name = k.toLowerCase(Locale.ROOT);
      if (!RESTRICTED.contains(name)) {
        send.put(name, v);
      }
    });
    send.forEach(b::setHeader);
    return b.build();
  }

  /** Header names lower-case, from {@code headers} or, when Envoy sent raw ones, {@code header_map}. */
  private static Map<String, String> headers(AttributeContext.HttpRequest h) {
    Map<String, String> out = new LinkedHashMap<>();
    if (h.getHeadersCount() > 0) {
      h.getHeadersMap().forEach((k, v) -> out.put(k.toLowerCase(Locale.ROOT), v));
    } else {
      for (HeaderValue hv : h.getHeaderMap().getHeadersList()) {
        String value = hv.getValue().isEmpty() ? hv.getRawValue().toString(StandardCharsets.UTF_8) : hv.getValue();
        out.merge(hv.getKey().toLowerCase(Locale.ROOT), value, (a, c) -> a + "," + c);
      }
    }
    return out;
  }

  /** The HTTP answer as Envoy's http_service client reads it, in ext_authz form. */
  @SuppressWarnings("deprecation") // append=false: see AuthzService.finish
  ProviderVerdict read(int status, Map<String, List<String>> headers, byte[] body) {
    if (status >= 500) {
      return ProviderVerdict.error("the provider answered " + status);
    }
    CheckResponse.Builder r = CheckResponse.newBuilder();
    if (status == 200) {
      OkHttpResponse.Builder ok = OkHttpResponse.newBuilder();
      headers.forEach((name, values) -> {
        String n = name.toLowerCase(Locale.ROOT);
        if (HOP_BY_HOP.contains(n)) {
          return;
        }
        String value = String.join(",", values);
        if (ExtensionProvider.matches(provider.headersToUpstreamOnAllow(), n)) {
          ok.addHeaders(option(n, value));
        }
        if (ExtensionProvider.matches(provider.headersToDownstreamOnAllow(), n)) {
          ok.addResponseHeadersToAdd(option(n, value));
        }
      });
      List<String> remove = headers.get("x-envoy-auth-headers-to-remove");
      if (remove != null) {
        for (String list : remove) {
          for (String name : list.split(",")) {
            if (!name.isBlank()) {
              ok.addHeadersToRemove(name.strip().toLowerCase(Locale.ROOT));
            }
          }
        }
      }
      return new ProviderVerdict(ProviderVerdict.Kind.ALLOW,
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(ok).build(), null);
    }
    DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCode(statusCode(status)))
        .setBody(new String(body, StandardCharsets.UTF_8));
    headers.forEach((name, values) -> {
      String n = name.toLowerCase(Locale.ROOT);
      if (!HOP_BY_HOP.contains(n) && (provider.headersToDownstreamOnDeny().isEmpty()
          || ExtensionProvider.matches(provider.headersToDownstreamOnDeny(), n)
          || n.equals("www-authenticate") || n.equals("location"))) {
        for (String v : values) {
          denied.addHeaders(option(n, v).toBuilder().setAppend(BoolValue.of(true)));
        }
      }
    });
    return new ProviderVerdict(ProviderVerdict.Kind.DENY, r.setStatus(com.google.rpc.Status.newBuilder()
        .setCode(AuthzService.PERMISSION_DENIED)).setDeniedResponse(denied).build(), null);
  }

  @SuppressWarnings("deprecation")
  private static HeaderValueOption option(String name, String value) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppend(BoolValue.of(false)).build();
  }

  /** Envoy's enum covers the statuses it knows; others travel as 403, Envoy's own fallback. */
  static StatusCode statusCode(int status) {
    StatusCode code = StatusCode.forNumber(status);
    return code == null || code == StatusCode.Empty ? StatusCode.Forbidden : code;
  }

  @Override
  public void close() {
    // Not close(), which waits for the requests in flight: this runs on a request or reload thread.
    // Those requests still complete.
    client.shutdown();
  }
}

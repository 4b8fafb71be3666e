package dev.meshguard.authz;

import com.google.protobuf.Timestamp;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The HTTP service mode's translation (extauthz.md §2): an HTTP/1.1 request from Envoy's
 * {@code http_service}, nginx's {@code auth_request} or Traefik's forward-auth becomes the
 * {@link CheckRequest} Envoy's gRPC filter would have sent for the original request, and the
 * {@link CheckResponse} becomes the HTTP answer those proxies understand. The decision itself is
 * {@link AuthzService#decide}'s; nothing here decides.
 *
 * <h2>Which request is decided</h2>
 * <ol>
 *   <li>the request line, when its path is under {@link AuthzOptions#httpPathPrefix()} with
 *       something after it (Envoy sends {@code path_prefix + :path}, the query included, and the
 *       original {@code Host});
 *   <li>else {@code X-Original-URI} (nginx: {@code proxy_set_header X-Original-URI $request_uri}),
 *       the method from {@code X-Original-Method} or the request line (auth_request keeps the
 *       client's method), the host from {@code X-Forwarded-Host} or {@code Host};
 *   <li>else {@code X-Forwarded-Uri} with {@code X-Forwarded-Method}, {@code -Host},
 *       {@code -Proto} (Traefik's forward-auth convention);
 *   <li>else nothing names the original request: a refusal (deny).
 * </ol>
 * The request line wins so that a proxy which forwards the client's headers (nginx does) cannot
 * be steered by a client-sent {@code X-Original-URI} when it puts the path in the request line;
 * a proxy that uses the headers must set them itself (nginx's {@code proxy_set_header} and
 * Traefik overwrite what the client sent).
 *
 * <h2>Identity</h2>
 * {@code source.principal} comes only from headers the configuration says to trust:
 * {@link AuthzOptions#httpIdentityHeader()} first, then, with {@link AuthzOptions#trustXfcc()},
 * the {@code URI=} of the last {@code x-forwarded-client-cert} element. Trusting either is only
 * safe when every request reaches this port through a proxy that overwrites the header (Envoy's
 * {@code forward_client_cert_details: SANITIZE_SET}, nginx's {@code proxy_set_header}); that is
 * why both are off by default. {@code source.address} is the connection's peer (the proxy);
 * {@code x-forwarded-for} gives {@code remote.ip} as in gRPC mode.
 *
 * <h2>Workload</h2>
 * No destination is known. With {@link AuthzOptions#httpWorkloadHeaders()}, the proxy names the
 * workload per location in {@code x-meshguard-namespace} and {@code x-meshguard-labels}
 * ({@code k=v,k=v}), which become the {@code context_extensions} Envoy would send per route (so
 * the one attribute builder applies); those headers are not passed on as request headers. Without
 * them the workload comes from {@link AuthzOptions#defaultNamespace()}.
 *
 * <h2>Headers</h2>
 * As Envoy puts them in {@code request.http.headers}: lower-case names, repeats joined with
 * {@code ,}, the pseudo-headers {@code :authority :path :method :scheme} of the original request;
 * {@code host} is dropped (it is {@code :authority}).
 */
final class HttpCheckRequests {
  private HttpCheckRequests() {}

  static final String DECISION_ID_HEADER = "x-meshguard-decision-id";
  /** The workload's namespace, set by the proxy per location (only read with {@code http_workload_headers}). */
  static final String NAMESPACE_HEADER = "x-meshguard-namespace";
  /** The workload's labels, {@code k=v,k=v}, set by the proxy per location. */
  static final String LABELS_HEADER = "x-meshguard-labels";
  /** Envoy's HTTP mode removes these from the upstream request on allow (and never forwards this header). */
  static final String HEADERS_TO_REMOVE = "x-envoy-auth-headers-to-remove";

  /** What arrived on the HTTP port. */
  record Incoming(String method, String target, String protocol, List<Map.Entry<String, String>> headers,
      InetSocketAddress peer, boolean tls) {}

  /** The CheckRequest for the original request, or, with {@code refusal} set, one to deny with that reason. */
  record Translation(CheckRequest request, String refusal) {}

  /** An HTTP answer: only ever 200, 401 or 403. */
  record Answer(int status, List<Map.Entry<String, String>> headers, String body) {}

  static Translation translate(Incoming in, AuthzOptions options, Instant now) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : in.headers()) {
      headers.merge(e.getKey().toLowerCase(Locale.ROOT), e.getValue(), (x, y) -> x + "," + y);
    }
    String method = in.method();
    String path = underPrefix(originForm(in.target()), options.httpPathPrefix());
    String host = headers.getOrDefault("host", "");
    String scheme = in.tls() ? "https" : "http";
    String refusal = null;
    if (path == null) {
      String original = headers.get("x-original-uri");
      String forwarded = headers.get("x-forwarded-uri");
      if (original != null) {
        path = original;
        method = headers.getOrDefault("x-original-method", method);
        host = headers.getOrDefault("x-forwarded-host", host);
        scheme = headers.getOrDefault("x-forwarded-proto", scheme);
      } else if (forwarded != null) {
        path = forwarded;
        method = headers.getOrDefault("x-forwarded-method", method);
        host = headers.getOrDefault("x-forwarded-host", host);
        scheme = headers.getOrDefault("x-forwarded-proto", scheme);
      } else {
        path = originForm(in.target());
        refusal = "no original request: the request line's path is not under http_path_prefix \""
            + options.httpPathPrefix() + "\" and neither X-Original-URI nor X-Forwarded-Uri is set";
      }
    }
    if (refusal == null && !path.startsWith("/")) {
      refusal = "invalid original request: the path must start with '/'";
    }
    if (refusal == null && !token(method)) {
      refusal = "invalid original request: the method is not an HTTP token";
    }

    String principal = "";
    if (!options.httpIdentityHeader().isEmpty()) {
      principal = headers.getOrDefault(options.httpIdentityHeader(), "").trim();
    }
    if (principal.isEmpty() && options.trustXfcc()) {
      String xfcc = headers.get("x-forwarded-client-cert");
      if (xfcc != null) {
        try {
          String uri = Xfcc.lastUri(xfcc);
          principal = uri == null ? "" : uri;
        } catch (IllegalArgumentException e) {
          if (refusal == null) {
            refusal = "invalid x-forwarded-client-cert: " + e.getMessage();
          }
        }
      }
    }

    headers.remove("host");
    String namespace = headers.remove(NAMESPACE_HEADER);
    String labels = headers.remove(LABELS_HEADER);
    Map<String, String> envoyHeaders = new LinkedHashMap<>();
    envoyHeaders.put(":authority", host);
    envoyHeaders.put(":path", path);
    envoyHeaders.put(":method", method);
    envoyHeaders.put(":scheme", scheme);
    headers.forEach(envoyHeaders::putIfAbsent);

    AttributeContext.Peer.Builder source = AttributeContext.Peer.newBuilder().setPrincipal(principal);
    if (in.peer() != null && in.peer().getAddress() != null) {
      source.setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
          .setAddress(in.peer().getAddress().getHostAddress()).setPortValue(in.peer().getPort())));
    }
    AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
        .setMethod(method)
        .setPath(path)
        .setHost(host)
        .setScheme(scheme)
        .setProtocol(in.protocol())
        .putAllHeaders(envoyHeaders);
    AttributeContext.Builder a = AttributeContext.newBuilder()
        .setSource(source)
        .setRequest(AttributeContext.Request.newBuilder()
            .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
            .setHttp(http));
    if (options.httpWorkloadHeaders() && namespace != null && !namespace.isBlank()) {
      a.putContextExtensions("namespace", namespace.strip());
      if (labels != null && !labels.isBlank()) {
        a.putContextExtensions("labels", labels.strip());
      }
    }
    return new Translation(CheckRequest.newBuilder().setAttributes(a).build(), refusal);
  }

  /**
   * The answer for {@code response}: 200 with the {@code ok_response} headers; 401 when the
   * {@code denied_response} says 401 (an invalid JWT); 403 for every other deny, whatever status is
   * configured, because nginx turns anything but 2xx/401/403 into 500 and Envoy a 5xx into an error.
   */
  @SuppressWarnings("deprecation") // HeaderValueOption.append is what AuthzService sets
  static Answer answer(CheckResponse response) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    String decisionId = response.getDynamicMetadata().getFieldsOrDefault(AuthzService.DECISION_ID,
        com.google.protobuf.Value.getDefaultInstance()).getStringValue();
    if (!decisionId.isEmpty()) {
      headers.add(Map.entry(DECISION_ID_HEADER, decisionId));
    }
    if (response.getStatus().getCode() == 0) {
      for (HeaderValueOption h : response.getOkResponse().getHeadersList()) {
        add(headers, h.getHeader());
      }
      for (HeaderValueOption h : response.getOkResponse().getResponseHeadersToAddList()) {
        add(headers, h.getHeader());
      }
      if (response.getOkResponse().getHeadersToRemoveCount() > 0) {
        headers.add(Map.entry(HEADERS_TO_REMOVE, String.join(", ", response.getOkResponse().getHeadersToRemoveList())));
      }
      return new Answer(200, List.copyOf(headers), "");
    }
    int status = response.getDeniedResponse().getStatus().getCodeValue() == 401 ? 401 : 403;
    for (HeaderValueOption h : response.getDeniedResponse().getHeadersList()) {
      add(headers, h.getHeader());
    }
    return new Answer(status, List.copyOf(headers), response.getDeniedResponse().getBody());
  }

  private static void add(List<Map.Entry<String, String>> headers, HeaderValue h) {
    String value = h.getValue().isEmpty() ? h.getRawValue().toStringUtf8() : h.getValue();
    if (!h.getKey().isEmpty() && !h.getKey().startsWith(":")) {
      headers.add(Map.entry(h.getKey(), value));
    }
  }

  /** An absolute-form target ({@code http://host/p}) as origin-form ({@code /p}); others unchanged. */
  static String originForm(String target) {
    int scheme = target.indexOf("://");
    if (scheme > 0 && !target.startsWith("/")) {
      int slash = target.indexOf('/', scheme + 3);
      return slash < 0 ? "/" : target.substring(slash);
    }
    return target;
  }

  /**
   * The path after {@code prefix} when {@code path} is under it and something follows (a
   * {@code /}); null otherwise. {@code /authz/x?q} under {@code /authz} is {@code /x?q};
   * {@code /authz}, {@code /authz?q} and {@code /authzx} are not under it.
   */
  static String underPrefix(String path, String prefix) {
    if (!path.startsWith(prefix)) {
      return null;
    }
    String rest = path.substring(prefix.length());
    return rest.startsWith("/") ? rest : null;
  }

  private static boolean token(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}

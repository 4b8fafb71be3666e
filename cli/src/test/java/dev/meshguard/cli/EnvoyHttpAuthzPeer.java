package dev.meshguard.cli;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Envoy's HTTP ext_authz client ({@code source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc}),
 * the one peer of {@link EnvoyHttpServiceIT} that cannot run here. From the filter's config it
 * builds the check request as Envoy does: the original method; {@code path_prefix} + the original
 * {@code :path} (query included); of the original headers only those the matchers allow (Envoy's
 * defaults {@code :authority} (Host), {@code :method}, {@code :path}, {@code authorization}, plus
 * {@code allowed_headers}); {@code content-length: 0} for a request without body; then
 * {@code authorization_request.headers_to_add} set over them. Before that, the HTTP connection
 * manager's {@code forward_client_cert_details: SANITIZE_SET} replaced any client-sent
 * {@code x-forwarded-client-cert} with the verified peer's details. It reads the answer as
 * Envoy does: 200 allows and copies the headers {@code allowed_upstream_headers} matches onto the
 * upstream request; anything else denies with that status and body, passing the headers
 * {@code allowed_client_headers} matches to the client.
 */
final class EnvoyHttpAuthzPeer {
  private final ExtAuthz config;
  private final String host;
  private final int port;

  EnvoyHttpAuthzPeer(ExtAuthz config, String host, int port) {
    this.config = config;
    this.host = host;
    this.port = port;
  }

  /** The downstream client as Envoy's TLS listener saw it: its X.509-SVID's URI SAN. */
  record Downstream(String uriSan) {
    static Downstream withSvid(String spiffeId) {
      return new Downstream(spiffeId);
    }

    /** {@code set_current_client_cert_details: {uri: true}}: Hash always, URI when asked for. */
    String xfcc() {
      return "By=spiffe://cluster.local/ns/ingress/sa/envoy;"
          + "Hash=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0;URI=" + uriSan;
    }
  }

  /** What Envoy does with the answer. */
  record Verdict(int status, String body, Map<String, String> upstreamHeaders, Map<String, String> clientHeaders) {
    boolean allowed() {
      return status == 200;
    }
  }

  Verdict check(Downstream client, String method, String path, Map<String, String> clientHeaders) throws IOException {
    // The original request's headers as the HTTP connection manager hands them to the filter.
    Map<String, String> original = new LinkedHashMap<>();
    original.put(":authority", "app.demo.svc");
    original.put(":method", method);
    original.put(":path", path);
    original.put(":scheme", "https");
    clientHeaders.forEach((k, v) -> original.put(k.toLowerCase(Locale.ROOT), v));
    original.put("x-forwarded-client-cert", client.xfcc()); // SANITIZE_SET: Envoy's value replaces the client's

    String prefix = config.getHttpService().getPathPrefix();
    Map<String, String> sent = new LinkedHashMap<>();
    sent.put("content-length", "0");
    for (Map.Entry<String, String> header : original.entrySet()) {
      String key = header.getKey();
      if (key.equals("content-length") || !allowedToAuthz(key)) {
        continue;
      }
      sent.put(key, key.equals(":path") && !prefix.isEmpty() ? prefix + header.getValue() : header.getValue());
    }
    for (HeaderValue add : config.getHttpService().getAuthorizationRequest().getHeadersToAddList()) {
      sent.put(add.getKey().toLowerCase(Locale.ROOT), add.getValue());
    }
    return send(sent);
  }

  private boolean allowedToAuthz(String key) {
    return key.equals(":authority") || key.equals(":method") || key.equals(":path") || key.equals("authorization")
        || matches(config.getAllowedHeaders(), key);
  }

  private Verdict send(Map<String, String> headers) throws IOException {
    StringBuilder request = new StringBuilder()
        .append(headers.get(":method")).append(' ').append(headers.get(":path")).append(" HTTP/1.1\r\n")
        .append("host: ").append(headers.get(":authority")).append("\r\n");
    headers.forEach((k, v) -> {
      if (!k.startsWith(":")) {
        request.append(k).append(": ").append(v).append("\r\n");
      }
    });
    request.append("connection: close\r\n\r\n");
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 10_000);
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return verdict(readAll(socket.getInputStream()));
    }
  }

  private Verdict verdict(String response) {
    int headEnd = response.indexOf("\r\n\r\n");
    if (headEnd < 0) {
      throw new AssertionError("not an HTTP response: " + response);
    }
    String[] lines = response.substring(0, headEnd).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    Map<String, String> upstream = new LinkedHashMap<>();
    Map<String, String> downstream = new LinkedHashMap<>();
    headers.forEach((k, v) -> {
      if (status == 200 && matches(config.getHttpService().getAuthorizationResponse().getAllowedUpstreamHeaders(), k)) {
        upstream.put(k, v);
      }
      if (status != 200 && matches(config.getHttpService().getAuthorizationResponse().getAllowedClientHeaders(), k)) {
        downstream.put(k, v);
      }
    });
    return new Verdict(status, response.substring(headEnd + 4), upstream, downstream);
  }

  private static boolean matches(ListStringMatcher list, String key) {
    for (StringMatcher m : list.getPatternsList()) {
      String k = m.getIgnoreCase() ? key.toLowerCase(Locale.ROOT) : key;
      boolean hit = switch (m.getMatchPatternCase()) {
        case EXACT -> k.equals(m.getIgnoreCase() ? m.getExact().toLowerCase(Locale.ROOT) : m.getExact());
        case PREFIX -> k.startsWith(m.getIgnoreCase() ? m.getPrefix().toLowerCase(Locale.ROOT) : m.getPrefix());
        case SUFFIX -> k.endsWith(m.getIgnoreCase() ? m.getSuffix().toLowerCase(Locale.ROOT) : m.getSuffix());
        case CONTAINS -> k.contains(m.getIgnoreCase() ? m.getContains().toLowerCase(Locale.ROOT) : m.getContains());
        default -> throw new IllegalArgumentException("this peer models exact/prefix/suffix/contains only: " + m);
      };
      if (hit) {
        return true;
      }
    }
    return false;
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    in.transferTo(bytes);
    return bytes.toString(StandardCharsets.UTF_8);
  }
}

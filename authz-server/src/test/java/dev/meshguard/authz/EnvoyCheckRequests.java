package dev.meshguard.authz;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CheckRequests built the way Envoy builds them; the one place the tests encode Envoy's
 * behaviour (envoy {@code source/extensions/filters/common/ext_authz/check_request_utils.cc} and
 * extauthz.md §1.1):
 *
 * <ul>
 *   <li>{@code source}/{@code destination}: socket addresses of the downstream connection;
 *       {@code principal} the URI SAN of the peer's / Envoy's own certificate (TLS only);
 *   <li>{@code source.certificate}: the peer's leaf as URL-encoded PEM, with only
 *       {@code include_peer_certificate} (Envoy's {@code urlEncodedPemEncodedPeerCertificate}
 *       replaces {@code \n}, space, {@code +}, {@code /} and {@code =} by their {@code %XX});
 *   <li>{@code request.http}: {@code id} is Envoy's numeric stream id; {@code path} is the raw
 *       {@code :path} with the query; header keys are lower-case, include the pseudo-headers
 *       {@code :authority :method :path :scheme}, and repeated headers are joined with
 *       {@code ","}; with {@code encode_raw_headers} Envoy sends {@code header_map} (one entry
 *       per header line, {@code raw_value} bytes) instead of {@code headers};
 *   <li>the network (TCP) filter sends no {@code request} at all.
 * </ul>
 */
final class EnvoyCheckRequests {
  private EnvoyCheckRequests() {}

  static Builder http(String method, String pathWithQuery) {
    return new Builder(true).method(method).path(pathWithQuery);
  }

  /** What Envoy's network ext_authz filter sends: peers only, no {@code request}. */
  static Builder tcp() {
    return new Builder(false);
  }

  /** Envoy's {@code urlEncodedPemEncodedPeerCertificate}. */
  static String urlEncodedPem(X509Certificate certificate) {
    String pem;
    try {
      pem = "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(certificate.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
    return pem.replace("%", "%25").replace("\n", "%0A").replace(" ", "%20").replace("+", "%2B").replace("/", "%2F")
        .replace("=", "%3D");
  }

  static final class Builder {
    private final boolean http;
    private String sourceIp = "10.0.0.7";
    private int sourcePort = 43210;
    private String sourcePrincipal = "";
    private String certificate = "";
    private String destinationIp = "10.0.1.5";
    private int destinationPort = 8080;
    private String destinationPrincipal = "";
    private String method = "GET";
    private String path = "/";
    private String host = "orders.shop.svc.cluster.local";
    private boolean rawHeaders;
    private final List<Map.Entry<String, String>> headerLines = new ArrayList<>();
    private final Map<String, String> contextExtensions = new LinkedHashMap<>();
    private final Map<String, Struct> metadata = new LinkedHashMap<>();
    private String sni = "";

    private Builder(boolean http) {
      this.http = http;
    }

    Builder source(String ip, int port, String principal) {
      this.sourceIp = ip;
      this.sourcePort = port;
      this.sourcePrincipal = principal;
      return this;
    }

    Builder principal(String principal) {
      this.sourcePrincipal = principal;
      return this;
    }

    /** {@code include_peer_certificate: true}. */
    Builder peerCertificate(X509Certificate certificate) {
      this.certificate = urlEncodedPem(certificate);
      return this;
    }

    Builder rawCertificateField(String value) {
      this.certificate = value;
      return this;
    }

    Builder destination(String ip, int port, String principal) {
      this.destinationIp = ip;
      this.destinationPort = port;
      this.destinationPrincipal = principal;
      return this;
    }

    Builder method(String method) {
      this.method = method;
      return this;
    }

    Builder path(String path) {
      this.path = path;
      return this;
    }

    Builder host(String host) {
      this.host = host;
      return this;
    }

    /** One header line as the client sent it; Envoy lower-cases the name and joins repeats. */
    Builder header(String name, String value) {
      headerLines.add(Map.entry(name, value));
      return this;
    }

    /** {@code encode_raw_headers: true}: {@code header_map} instead of {@code headers}. */
    Builder rawHeaders() {
      this.rawHeaders = true;
      return this;
    }

    /** Per-route {@code ExtAuthzPerRoute.check_settings.context_extensions}. */
    Builder contextExtension(String key, String value) {
      contextExtensions.put(key, value);
      return this;
    }

    Builder workload(String namespace, String labels) {
      return contextExtension("namespace", namespace).contextExtension("labels", labels);
    }

    Builder metadata(String filter, Struct value) {
      metadata.put(filter, value);
      return this;
    }

    Builder sni(String sni) {
      this.sni = sni;
      return this;
    }

    CheckRequest build() {
      AttributeContext.Builder a = AttributeContext.newBuilder()
          .setSource(peer(sourceIp, sourcePort, sourcePrincipal).setCertificate(certificate))
          .setDestination(peer(destinationIp, destinationPort, destinationPrincipal))
          .putAllContextExtensions(contextExtensions);
      metadata.forEach((k, v) -> a.getMetadataContextBuilder().putFilterMetadata(k, v));
      if (!sni.isEmpty()) {
        a.getTlsSessionBuilder().setSni(sni);
      }
      if (http) {
        // Pseudo-headers first, as Envoy's header map holds them.
        List<Map.Entry<String, String>> lines = new ArrayList<>();
        lines.add(Map.entry(":authority", host));
        lines.add(Map.entry(":path", path));
        lines.add(Map.entry(":method", method));
        lines.add(Map.entry(":scheme", "http"));
        lines.addAll(headerLines);
        AttributeContext.HttpRequest.Builder h = AttributeContext.HttpRequest.newBuilder()
            .setId("11917425464891524591")
            .setMethod(method)
            .setPath(path)
            .setHost(host)
            .setScheme("http")
            .setProtocol("HTTP/1.1");
        if (rawHeaders) {
          HeaderMap.Builder map = HeaderMap.newBuilder();
          for (Map.Entry<String, String> line : lines) {
            map.addHeaders(HeaderValue.newBuilder().setKey(line.getKey().toLowerCase(Locale.ROOT))
                .setRawValue(ByteString.copyFromUtf8(line.getValue())));
          }
          h.setHeaderMap(map);
        } else {
          Map<String, String> joined = new LinkedHashMap<>();
          for (Map.Entry<String, String> line : lines) {
            joined.merge(line.getKey().toLowerCase(Locale.ROOT), line.getValue(), (x, y) -> x + "," + y);
          }
          h.putAllHeaders(joined);
        }
        a.setRequest(AttributeContext.Request.newBuilder()
            .setTime(Timestamp.newBuilder().setSeconds(1_790_000_000L))
            .setHttp(h));
      }
      return CheckRequest.newBuilder().setAttributes(a).build();
    }

    private static AttributeContext.Peer.Builder peer(String ip, int port, String principal) {
      AttributeContext.Peer.Builder p = AttributeContext.Peer.newBuilder().setPrincipal(principal);
      if (!ip.isEmpty()) {
        p.setAddress(Address.newBuilder().setSocketAddress(
            SocketAddress.newBuilder().setAddress(ip).setPortValue(port)));
      }
      return p;
    }
  }
}

package dev.meshguard.policy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The policy attributes of an Envoy ext_authz {@code CheckRequest}
 * (envoy {@code api/envoy/service/auth/v3/attribute_context.proto}, filled in by
 * {@code source/extensions/filters/common/ext_authz/check_request_utils.cc}):
 *
 * <ul>
 *   <li>{@code source.principal}: the peer's URI SAN (empty on plaintext: absent);
 *       {@code source.address}: the direct peer ({@code source.ip}).
 *   <li>{@code destination.address}: {@code destination.ip} and the port.
 *   <li>{@code request.http}: method, host, path (with its query: the evaluator strips it) and
 *       headers with lower-case names; when Envoy sends {@code header_map} (with
 *       {@code encode_raw_headers}) repeated headers are joined with {@code ,} as Envoy joins them
 *       in {@code headers}. No {@code request.http} means a TCP connection check.
 *   <li>{@code tls_session.sni}: {@code connection.sni}.
 *   <li>{@code remote.ip}: from {@code x-forwarded-for} as a sidecar's Envoy computes it
 *       ({@code use_remote_address: false}): the entry {@code numTrustedProxies} hops from the
 *       right (the last one with 0); without the header, or with too few or a malformed entry,
 *       the direct peer.
 *   <li>The verified JWT payload: {@code metadata_context.filter_metadata["envoy.filters.http.jwt_authn"]},
 *       whose entry (under whatever key, usually {@code payload} or the issuer) is the payload;
 *       every filter's metadata is kept for {@code experimental.envoy.filters.*}.
 *   <li>The workload: {@code context_extensions} {@code namespace} and {@code labels}
 *       ({@code "k1=v1,k2=v2"}); without a namespace there, the namespace of
 *       {@code destination.principal}; without labels there, {@code destination.labels}.
 * </ul>
 *
 * <p>{@code source.certificate} is not read here: verifying it against the trust bundle is the
 * authz server's business.
 */
public final class CheckRequestAttributes {

  /** The filter whose dynamic metadata holds the verified JWT payload. */
  public static final String JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";

  private CheckRequestAttributes() {}

  /**
   * @throws InvalidRequestException naming the part at fault: an address that is not an IP, a
   *     malformed {@code labels} extension or JWT metadata entry, or no way to tell the workload
   *     (no {@code namespace} extension and no namespace in {@code destination.principal})
   */
  public static RequestAttributes from(CheckRequest request, MeshConfig mesh) throws InvalidRequestException {
    AttributeContext a = request.getAttributes();
    IpAddress sourceIp = ip(a.getSource(), "attributes.source.address");
    IpAddress destinationIp = ip(a.getDestination(), "attributes.destination.address");
    int destinationPort = port(a.getDestination());
    String principal = a.getSource().getPrincipal().isEmpty() ? null : a.getSource().getPrincipal();
    String sni = a.hasTlsSession() && !a.getTlsSession().getSni().isEmpty() ? a.getTlsSession().getSni() : null;

    HttpAttributes http = null;
    if (a.hasRequest() && a.getRequest().hasHttp()) {
      http = http(a.getRequest().getHttp());
    }
    IpAddress remoteIp = sourceIp;
    if (http != null) {
      String xff = http.headers().get("x-forwarded-for");
      if (xff != null) {
        remoteIp = fromXff(xff, mesh.numTrustedProxies()).orElse(sourceIp);
      }
    }

    Map<String, Struct> filterMetadata = new TreeMap<>(a.getMetadataContext().getFilterMetadataMap());
    Struct jwt = jwtPayload(filterMetadata.get(JWT_AUTHN_FILTER));
    Workload workload = workload(a);
    return new RequestAttributes(workload, principal, sourceIp, remoteIp, destinationIp, destinationPort, sni,
        http, jwt, filterMetadata);
  }

  private static IpAddress ip(AttributeContext.Peer peer, String part) throws InvalidRequestException {
    if (!peer.hasAddress()) {
      return null;
    }
    Address address = peer.getAddress();
    if (!address.hasSocketAddress()) {
      return null; // a pipe (Unix socket) or an internal address has no IP
    }
    String text = address.getSocketAddress().getAddress();
    if (text.isEmpty()) {
      return null;
    }
    return IpAddress.parse(text).orElseThrow(() ->
        new InvalidRequestException(part + ".socket_address.address", "not an IP address: \"" + text + "\""));
  }

  private static int port(AttributeContext.Peer peer) {
    if (!peer.hasAddress() || !peer.getAddress().hasSocketAddress()) {
      return -1;
    }
    SocketAddress s = peer.getAddress().getSocketAddress();
    return s.getPortSpecifierCase() == SocketAddress.PortSpecifierCase.PORT_VALUE && s.getPortValue() <= 65535
        ? s.getPortValue() : -1;
  }

  private static HttpAttributes http(AttributeContext.HttpRequest h) {
    Map<String, String> headers = new LinkedHashMap<>();
    if (h.getHeadersCount() > 0) {
      h.getHeadersMap().forEach((k, v) -> headers.merge(StrMatcher.lowerAscii(k), v, (x, y) -> x + "," + y));
    } else if (h.hasHeaderMap()) {
      for (HeaderValue hv : h.getHeaderMap().getHeadersList()) {
        String value = !hv.getValue().isEmpty() || hv.getRawValue().isEmpty()
            ? hv.getValue() : hv.getRawValue().toString(StandardCharsets.UTF_8);
        headers.merge(StrMatcher.lowerAscii(hv.getKey()), value, (x, y) -> x + "," + y);
      }
    }
    String method = orHeader(h.getMethod(), headers, ":method");
    String host = orHeader(h.getHost(), headers, ":authority");
    String path = orHeader(h.getPath(), headers, ":path");
    return new HttpAttributes(method, host, path, headers);
  }

  private static String orHeader(String value, Map<String, String> headers, String pseudoHeader) {
    return !value.isEmpty() ? value : headers.getOrDefault(pseudoHeader, "");
  }

  /**
   * The original client: the entry {@code trustedHops} from the right of {@code x-forwarded-for}
   * (Envoy's {@code getLastAddressFromXFF} with {@code xff_num_trusted_hops}); empty when there are
   * too few entries or the entry is not an IP.
   */
  static Optional<IpAddress> fromXff(String xff, int trustedHops) {
    String[] entries = xff.split(",", -1);
    int index = entries.length - 1 - trustedHops;
    if (index < 0) {
      return Optional.empty();
    }
    return IpAddress.parse(entries[index].strip());
  }

  private static Struct jwtPayload(Struct metadata) throws InvalidRequestException {
    if (metadata == null || metadata.getFieldsCount() == 0) {
      return null;
    }
    // jwt_authn writes each verified payload under payload_in_metadata (Istio: the issuer);
    // a request carries one verified JWT. Sorted keys keep the choice deterministic.
    for (Map.Entry<String, Value> e : new TreeMap<>(metadata.getFieldsMap()).entrySet()) {
      if (e.getValue().getKindCase() == Value.KindCase.STRUCT_VALUE) {
        return e.getValue().getStructValue();
      }
    }
    throw new InvalidRequestException("attributes.metadata_context.filter_metadata[\"" + JWT_AUTHN_FILTER + "\"]",
        "no entry holds a JWT payload object");
  }

  private static Workload workload(AttributeContext a) throws InvalidRequestException {
    Map<String, String> ext = a.getContextExtensionsMap();
    String namespace = ext.get("namespace");
    if (namespace == null || namespace.isEmpty()) {
      String principal = a.getDestination().getPrincipal();
      if (principal.isEmpty()) {
        throw new InvalidRequestException("attributes.context_extensions",
            "no \"namespace\" entry, and attributes.destination.principal is empty, so the workload is unknown");
      }
      namespace = CelConditions.namespaceOf(principal);
      if (namespace == null || namespace.isEmpty()) {
        throw new InvalidRequestException("attributes.destination.principal",
            "no namespace in \"" + principal + "\" (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account>)");
      }
    }
    String labels = ext.get("labels");
    Map<String, String> parsed = labels != null ? labels(labels) : a.getDestination().getLabelsMap();
    return new Workload(namespace, parsed);
  }

  /** {@code "k1=v1,k2=v2"}; an empty string is no labels. */
  static Map<String, String> labels(String text) throws InvalidRequestException {
    Map<String, String> labels = new LinkedHashMap<>();
    if (text.isBlank()) {
      return labels;
    }
    for (String pair : text.split(",", -1)) {
      String p = pair.strip();
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new InvalidRequestException("attributes.context_extensions[\"labels\"]",
            "expected k1=v1,k2=v2 but found \"" + pair + "\" in \"" + text + "\"");
      }
      String key = p.substring(0, eq).strip();
      if (labels.put(key, p.substring(eq + 1).strip()) != null) {
        throw new InvalidRequestException("attributes.context_extensions[\"labels\"]",
            "label \"" + key + "\" given twice in \"" + text + "\"");
      }
    }
    return labels;
  }
}

package dev.meshguard.policy;

import com.google.protobuf.Struct;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a policy can look at, for one request. Built from an Envoy {@code CheckRequest} by
 * {@code CheckRequestAttributes} (or directly in tests). Absent attributes are null: the
 * positive match forms need the attribute to exist, the {@code not} forms match when it is absent.
 *
 * @param workload the workload the request is addressed to (selects the policies)
 * @param sourcePrincipal the peer's SPIFFE ID URI ({@code spiffe://td/ns/x/sa/y}); null for
 *     plaintext
 * @param sourceIp the direct peer's address ({@code source.ip}, {@code ipBlocks}); null if unknown
 * @param remoteIp the original client's address ({@code remote.ip}, {@code remoteIpBlocks}),
 *     derived from {@code x-forwarded-for}; equals {@code sourceIp} without it
 * @param destinationIp the local address the connection reached ({@code destination.ip})
 * @param destinationPort the local port ({@code ports}, {@code destination.port}); -1 if unknown
 * @param sni {@code connection.sni}; null for plaintext or when Envoy did not send it
 * @param http the HTTP request; null for a TCP connection check (no HTTP attributes)
 * @param jwtPayload the verified JWT payload ({@code request.auth.*}); null without a JWT
 * @param filterMetadata Envoy dynamic metadata by filter name ({@code experimental.envoy.filters.*})
 */
public record RequestAttributes(
    Workload workload,
    String sourcePrincipal,
    IpAddress sourceIp,
    IpAddress remoteIp,
    IpAddress destinationIp,
    int destinationPort,
    String sni,
    HttpAttributes http,
    Struct jwtPayload,
    Map<String, Struct> filterMetadata) {

  public RequestAttributes {
    Objects.requireNonNull(workload, "workload");
    if (destinationPort < -1 || destinationPort > 65535) {
      throw new IllegalArgumentException("destinationPort out of range: " + destinationPort);
    }
    filterMetadata = Map.copyOf(filterMetadata);
  }

  /** True for an HTTP request, false for a TCP connection check. */
  public boolean isHttp() {
    return http != null;
  }
}

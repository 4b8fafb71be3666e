package dev.meshguard.policy;

import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One {@code meshConfig.extensionProviders[]} entry of type {@code envoyExtAuthzGrpc} or
 * {@code envoyExtAuthzHttp}: the external authorizer a CUSTOM policy names (Istio
 * {@code istio.mesh.v1alpha1.MeshConfig.ExtensionProvider.EnvoyExternalAuthorization{Grpc,Http}Provider}).
 *
 * <p>Header lists accept Istio's patterns: exact ({@code abc}), prefix ({@code abc*}) and suffix
 * ({@code *abc}), compared case-insensitively (HTTP header names are).
 *
 * @param name the name CUSTOM policies refer to
 * @param grpc true for envoyExtAuthzGrpc, false for envoyExtAuthzHttp
 * @param service host name (or {@code ns/host}) of the provider
 * @param port its port
 * @param timeout the call's timeout (Istio's default is 600s, which no one wants; ours is 1s)
 * @param failOpen true: a provider error allows; false (the default): it denies
 * @param pathPrefix HTTP only: prefix added to the request path
 * @param includeRequestHeadersInCheck HTTP only: headers forwarded to the provider
 * @param statusOnError the HTTP status of a request denied because the provider failed
 *     ({@code statusOnError}, default 403)
 * @param includeAdditionalHeadersInCheck HTTP only: fixed headers added to the check request
 * @param headersToUpstreamOnAllow HTTP only: provider response headers set on the upstream request on allow
 * @param headersToDownstreamOnDeny HTTP only: provider response headers sent to the client on deny
 *     (empty: all but {@code Host})
 * @param headersToDownstreamOnAllow HTTP only: provider response headers added to the client response on allow
 * @param includeRequestBodyInCheck whether and how much of the request body the provider gets; null: none
 *     (Istio's {@code includeRequestBodyInCheck}, which becomes Envoy's {@code with_request_body})
 */
public record ExtensionProvider(
    String name,
    boolean grpc,
    String service,
    int port,
    Duration timeout,
    boolean failOpen,
    String pathPrefix,
    List<String> includeRequestHeadersInCheck,
    int statusOnError,
    Map<String, String> includeAdditionalHeadersInCheck,
    List<String> headersToUpstreamOnAllow,
    List<String> headersToDownstreamOnDeny,
    List<String> headersToDownstreamOnAllow,
    RequestBody includeRequestBodyInCheck) {

  /**
   * Istio's {@code includeRequestBodyInCheck} ({@code ExtensionProvider.EnvoyExternalAuthorizationRequestBody}),
   * which istiod turns into Envoy's ext_authz {@code with_request_body} ({@code BufferSettings}).
   *
   * @param maxRequestBytes at most this many bytes of the body go to the provider; positive
   *     (Envoy's {@code max_request_bytes} must be greater than 0)
   * @param allowPartialMessage a longer body is cut to {@code maxRequestBytes} and sent with
   *     {@code x-envoy-auth-partial-body: true}; false: the request is denied with 413 without asking
   *     the provider, whatever {@code failOpen} says
   * @param packAsBytes gRPC only: the body goes in {@code raw_body} instead of the UTF-8 {@code body}
   *     field; Istio documents it as having no effect on HTTP providers
   */
  public record RequestBody(int maxRequestBytes, boolean allowPartialMessage, boolean packAsBytes) {
    public RequestBody {
      if (maxRequestBytes <= 0) {
        throw new IllegalArgumentException("maxRequestBytes must be positive, found " + maxRequestBytes);
      }
    }
  }

  /** Istio's (and Envoy's) status of a request denied because the provider could not be asked. */
  public static final int DEFAULT_STATUS_ON_ERROR = 403;

  public ExtensionProvider {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(timeout, "timeout");
    pathPrefix = pathPrefix == null ? "" : pathPrefix;
    includeRequestHeadersInCheck = List.copyOf(includeRequestHeadersInCheck);
    statusOnError = statusOnError == 0 ? DEFAULT_STATUS_ON_ERROR : statusOnError;
    includeAdditionalHeadersInCheck = includeAdditionalHeadersInCheck == null ? Map.of()
        : Collections.unmodifiableMap(new TreeMap<>(includeAdditionalHeadersInCheck));
    headersToUpstreamOnAllow = headersToUpstreamOnAllow == null ? List.of() : List.copyOf(headersToUpstreamOnAllow);
    headersToDownstreamOnDeny = headersToDownstreamOnDeny == null ? List.of() : List.copyOf(headersToDownstreamOnDeny);
    headersToDownstreamOnAllow = headersToDownstreamOnAllow == null ? List.of()
        : List.copyOf(headersToDownstreamOnAllow);
  }

  /** A provider that gets no request body. */
  public ExtensionProvider(String name, boolean grpc, String service, int port, Duration timeout, boolean failOpen,
      String pathPrefix, List<String> includeRequestHeadersInCheck, int statusOnError,
      Map<String, String> includeAdditionalHeadersInCheck, List<String> headersToUpstreamOnAllow,
      List<String> headersToDownstreamOnDeny, List<String> headersToDownstreamOnAllow) {
    this(name, grpc, service, port, timeout, failOpen, pathPrefix, includeRequestHeadersInCheck, statusOnError,
        includeAdditionalHeadersInCheck, headersToUpstreamOnAllow, headersToDownstreamOnDeny,
        headersToDownstreamOnAllow, null);
  }

  /** A provider with the defaults for everything past {@code includeRequestHeadersInCheck}. */
  public ExtensionProvider(String name, boolean grpc, String service, int port, Duration timeout, boolean failOpen,
      String pathPrefix, List<String> includeRequestHeadersInCheck) {
    this(name, grpc, service, port, timeout, failOpen, pathPrefix, includeRequestHeadersInCheck,
        DEFAULT_STATUS_ON_ERROR, Map.of(), List.of(), List.of(), List.of());
  }

  /**
   * Whether {@code header} matches one of {@code patterns} as Istio's header lists match: exact,
   * {@code prefix*} or {@code *suffix}, case-insensitively.
   */
  public static boolean matches(List<String> patterns, String header) {
    for (String p : patterns) {
      if (p.equals("*")) {
        return true;
      } else if (p.endsWith("*")) {
        String prefix = p.substring(0, p.length() - 1);
        if (header.regionMatches(true, 0, prefix, 0, prefix.length())) {
          return true;
        }
      } else if (p.startsWith("*")) {
        String suffix = p.substring(1);
        if (header.length() >= suffix.length()
            && header.regionMatches(true, header.length() - suffix.length(), suffix, 0, suffix.length())) {
          return true;
        }
      } else if (p.equalsIgnoreCase(header)) {
        return true;
      }
    }
    return false;
  }
}

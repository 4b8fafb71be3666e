package dev.meshguard.authz;

import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.util.Objects;

/**
 * What one CUSTOM provider answered for one request.
 *
 * @param kind allow, deny, or why there is no answer
 * @param response the provider's answer in ext_authz form (an HTTP provider's answer is mapped
 *     onto the same shape, as Envoy's {@code http_service} client does): its
 *     {@code ok_response} or {@code denied_response} is what may be passed through; empty for
 *     {@link Kind#ERROR} and {@link Kind#TIMEOUT}
 * @param detail why, for {@link Kind#ERROR} and {@link Kind#TIMEOUT} (never sent to clients)
 */
record ProviderVerdict(Kind kind, CheckResponse response, String detail) {

  enum Kind {
    ALLOW, DENY, ERROR, TIMEOUT;

    /** The metric tag. */
    String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  ProviderVerdict {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(response, "response");
    detail = detail == null ? "" : detail;
  }

  static ProviderVerdict error(String detail) {
    return new ProviderVerdict(Kind.ERROR, CheckResponse.getDefaultInstance(), detail);
  }

  static ProviderVerdict timeout(String detail) {
    return new ProviderVerdict(Kind.TIMEOUT, CheckResponse.getDefaultInstance(), detail);
  }

  /** Neither allow nor deny: the provider's failure mode decides. */
  boolean failed() {
    return kind == Kind.ERROR || kind == Kind.TIMEOUT;
  }
}

package dev.meshguard.ratelimit;

import dev.meshguard.core.config.NotBlank;
import java.util.Objects;

/**
 * The {@code ratelimit.response_headers} section: envoyproxy/ratelimit's
 * {@code LIMIT_RESPONSE_HEADERS_ENABLED} and {@code LIMIT_LIMIT_HEADER},
 * {@code LIMIT_REMAINING_HEADER}, {@code LIMIT_RESET_HEADER} ({@code src/settings/settings.go}).
 * When enabled, every response with a limited status carries three {@code response_headers_to_add}
 * taken from one status, chosen as upstream's {@code shouldRateLimitWorker}
 * ({@code src/service/ratelimit.go}) chooses it: the one with the lowest {@code limit_remaining}
 * among those with a {@code current_limit} (the first of equals), except that an OVER_LIMIT status
 * always wins (the last one, if several). Values: the limit's {@code requests_per_unit}, the
 * remaining count, and the seconds until the window resets.
 *
 * @param enabled off by default, as upstream
 * @param limitHeader default {@value #DEFAULT_LIMIT}
 * @param remainingHeader default {@value #DEFAULT_REMAINING}
 * @param resetHeader default {@value #DEFAULT_RESET}
 */
public record ResponseHeaders(
    boolean enabled,
    @NotBlank String limitHeader,
    @NotBlank String remainingHeader,
    @NotBlank String resetHeader) {

  public static final String DEFAULT_LIMIT = "RateLimit-Limit";
  public static final String DEFAULT_REMAINING = "RateLimit-Remaining";
  public static final String DEFAULT_RESET = "RateLimit-Reset";

  /** Off, with upstream's header names. */
  public static final ResponseHeaders DEFAULTS = new ResponseHeaders(false, DEFAULT_LIMIT, DEFAULT_REMAINING,
      DEFAULT_RESET);

  public ResponseHeaders {
    checkName(limitHeader, "limit_header");
    checkName(remainingHeader, "remaining_header");
    checkName(resetHeader, "reset_header");
  }

  /** These headers, switched on or off. */
  public ResponseHeaders withEnabled(boolean on) {
    return new ResponseHeaders(on, limitHeader, remainingHeader, resetHeader);
  }

  /**
   * An HTTP field name is an RFC 9110 token; Envoy refuses a header it cannot send, so a bad name
   * is refused here, at start-up, instead of on every response.
   */
  private static void checkName(String name, String what) {
    Objects.requireNonNull(name, what);
    if (name.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!token) {
        throw new IllegalArgumentException(what + " must be an HTTP header name (RFC 9110 token), found '" + name + "'");
      }
    }
  }
}

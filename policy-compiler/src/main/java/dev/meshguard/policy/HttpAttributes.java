package dev.meshguard.policy;

import java.util.Map;
import java.util.Objects;

/**
 * The HTTP part of a request, as Envoy's {@code AttributeContext.HttpRequest} carries it.
 *
 * @param method {@code :method}
 * @param host {@code :authority}, port included when the client sent one
 * @param path {@code :path} as received: query and fragment included (the evaluator strips them
 *     for path matching, as Envoy's RBAC {@code url_path} does)
 * @param headers lower-case names, pseudo-headers included, repeated headers joined with {@code ,}
 */
public record HttpAttributes(String method, String host, String path, Map<String, String> headers) {
  public HttpAttributes {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(path, "path");
    headers = Map.copyOf(headers);
  }
}

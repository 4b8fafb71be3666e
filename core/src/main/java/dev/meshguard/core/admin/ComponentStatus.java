package dev.meshguard.core.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What one component (authz, ratelimit, ca, admin...) reports on {@code /status} and
 * {@code /readyz}.
 *
 * @param component the component's name, e.g. {@code authz}
 * @param ready whether it can serve decisions now
 * @param notReadyReason why not, when {@code ready} is false (e.g. "no policies loaded"); null otherwise
 * @param revision the revision of its active configuration or policies; null when it has none
 * @param endpoints what it listens on, by protocol name (e.g. {@code grpc -> 127.0.0.1:9191}), sorted
 * @param lastError why its last configuration change was refused while {@code revision} keeps
 *     serving (e.g. a rate-limit file broken by an edit); null when the last change loaded
 * @param loadedAt when {@code revision} was loaded (RFC 3339); null when not tracked
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ComponentStatus(
    String component, boolean ready, String notReadyReason, String revision, Map<String, String> endpoints,
    String lastError, String loadedAt) {

  public ComponentStatus {
    Objects.requireNonNull(component, "component");
    endpoints = Map.copyOf(endpoints);
    if (!ready && (notReadyReason == null || notReadyReason.isBlank())) {
      throw new IllegalArgumentException("a component that is not ready must say why");
    }
  }

  /** A status without a load time. */
  public ComponentStatus(String component, boolean ready, String notReadyReason, String revision,
      Map<String, String> endpoints, String lastError) {
    this(component, ready, notReadyReason, revision, endpoints, lastError, null);
  }

  /** A status without a refused configuration change. */
  public ComponentStatus(String component, boolean ready, String notReadyReason, String revision,
      Map<String, String> endpoints) {
    this(component, ready, notReadyReason, revision, endpoints, null);
  }

  /** This status with {@code lastError} set (null clears it). */
  public ComponentStatus withLastError(String error) {
    return new ComponentStatus(component, ready, notReadyReason, revision, endpoints, error, loadedAt);
  }

  /** This status with {@code loadedAt} set (null clears it). */
  public ComponentStatus withLoadedAt(java.time.Instant time) {
    return new ComponentStatus(component, ready, notReadyReason, revision, endpoints, lastError,
        time == null ? null : time.toString());
  }

  /** Endpoints in name order, so {@code /status} output is stable. */
  @Override
  public Map<String, String> endpoints() {
    return new TreeMap<>(endpoints);
  }

  public static ComponentStatus ready(String component, String revision, Map<String, String> endpoints) {
    return new ComponentStatus(component, true, null, revision, endpoints);
  }

  public static ComponentStatus notReady(String component, String reason, String revision, Map<String, String> endpoints) {
    return new ComponentStatus(component, false, reason, revision, endpoints);
  }
}

package dev.meshguard.authz;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The authz server's meters (Prometheus names on {@code /metrics}):
 * {@code meshguard_authz_decisions_total{outcome,policy}},
 * {@code meshguard_authz_check_duration_seconds} (server-side latency histogram),
 * {@code meshguard_authz_workload_resolution_failures_total},
 * {@code meshguard_authz_input_rejected_total{limit}}, {@code meshguard_authz_peer_certificate_rejected_total},
 * {@code meshguard_authz_internal_errors_total},
 * {@code meshguard_authz_jwks_fetches_total{outcome}} (success, error, timeout, invalid),
 * {@code meshguard_authz_jwt_rejected_total}; reload counters are registered by the server.
 *
 * <p>Per-policy counters are created once per (outcome, policy) and cached; the number of series
 * is bounded by {@link #MAX_POLICY_SERIES}, past which decisions count under {@code policy="other"}.
 */
final class AuthzMetrics {

  static final int MAX_POLICY_SERIES = 10_000;
  static final String NO_POLICY = "none";

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> allowed = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> denied = new ConcurrentHashMap<>();
  private final Timer latency;
  private final Counter resolutionFailures;
  private final Counter certificateRejected;
  private final LongAdder internalErrors = new LongAdder();
  private final ConcurrentHashMap<String, Counter> inputRejected = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> jwksFetches = new ConcurrentHashMap<>();
  private final Counter jwtRejected;

  AuthzMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.latency = Timer.builder("meshguard.authz.check.duration")
        .description("Server-side time to decide one Check, from the request to the response")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1).dividedBy(100))
        .maximumExpectedValue(Duration.ofSeconds(1))
        .register(registry);
    this.resolutionFailures = Counter.builder("meshguard.authz.workload.resolution.failures")
        .description("Checks denied because no workload could be resolved").register(registry);
    this.certificateRejected = Counter.builder("meshguard.authz.peer.certificate.rejected")
        .description("Checks denied because source.certificate did not verify or match source.principal")
        .register(registry);
    this.jwtRejected = Counter.builder("meshguard.authz.jwt.rejected")
        .description("Checks answered 401/403 because a JWT failed RequestAuthentication").register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("meshguard.authz.internal.errors", internalErrors,
        LongAdder::sum).description("Checks answered by the failure mode after an unexpected error").register(registry);
  }

  void decision(boolean allow, String policy, long nanos) {
    ConcurrentHashMap<String, Counter> byPolicy = allow ? allowed : denied;
    String key = policy == null ? NO_POLICY : policy;
    Counter c = byPolicy.get(key);
    if (c == null) {
      if (byPolicy.size() >= MAX_POLICY_SERIES) {
        key = "other";
      }
      String outcome = allow ? "allow" : "deny";
      c = byPolicy.computeIfAbsent(key, p -> Counter.builder("meshguard.authz.decisions")
          .description("Check decisions by outcome and deciding policy")
          .tag("outcome", outcome).tag("policy", p).register(registry));
    }
    c.increment();
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  void resolutionFailure() {
    resolutionFailures.increment();
  }

  void certificateRejected() {
    certificateRejected.increment();
  }

  void inputRejected(String limit) {
    inputRejected.computeIfAbsent(limit, l -> Counter.builder("meshguard.authz.input.rejected")
        .description("Checks denied because the request exceeded an input limit").tag("limit", l)
        .register(registry)).increment();
  }

  /** One JWKS fetch finished with {@code outcome}: success, error, timeout or invalid. */
  void jwksFetch(String outcome) {
    jwksFetches.computeIfAbsent(outcome, o -> Counter.builder("meshguard.authz.jwks.fetches")
        .description("JWKS fetches from RequestAuthentication jwksUris, by outcome").tag("outcome", o)
        .register(registry)).increment();
  }

  void jwtRejected() {
    jwtRejected.increment();
  }

  void internalError() {
    internalErrors.increment();
  }

  long internalErrors() {
    return internalErrors.sum();
  }
}

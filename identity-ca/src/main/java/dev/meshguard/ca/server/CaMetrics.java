package dev.meshguard.ca.server;

import dev.meshguard.ca.RootRotation;
import dev.meshguard.core.crypto.KeyAlgorithm;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CA server's meters, all registered at start so the request path only increments:
 * <ul>
 *   <li>{@code meshguard_ca_issued_total{api,key_type}}: certificates issued, by API
 *       ({@code istio}: the Istio CA API; {@code workload}: SVIDs of the SPIFFE Workload API) and
 *       the leaf's key type;
 *   <li>{@code meshguard_ca_refused_total{api,reason}}: issuances refused, by gRPC code
 *       ({@code unauthenticated}, {@code permission_denied}, {@code invalid_argument},
 *       {@code unavailable}, {@code internal});
 *   <li>{@code meshguard_ca_request_latency_seconds}: the time of every CreateCertificate call;
 *   <li>{@code meshguard_ca_certificate_expiry_timestamp_seconds{certificate}}: when the signing
 *       certificate ({@code signing}) and the root it chains to ({@code root}) of the authority
 *       that signs now expire, as Unix time (istiod: {@code cert_chain_expiry_timestamp},
 *       {@code root_cert_expiry_timestamp}); they follow rotations and reloads;
 *   <li>{@code meshguard_ca_reloads_total{result}}: re-reads of a plugged-in CA's changed files
 *       ({@code ok}, {@code failed}: the last good CA goes on signing).
 * </ul>
 */
final class CaMetrics {
  static final List<Status.Code> REFUSAL_CODES = List.of(Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED,
      Status.Code.INVALID_ARGUMENT, Status.Code.UNAVAILABLE, Status.Code.INTERNAL);

  /** Which API an issuance went through: the {@code api} tag. */
  enum Api {
    ISTIO, WORKLOAD;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Map<Api, Map<KeyAlgorithm, Counter>> issued = new EnumMap<>(Api.class);
  private final Map<Api, Map<Status.Code, Counter>> refused = new EnumMap<>(Api.class);
  private final Timer latency;
  private final Counter reloaded;
  private final Counter reloadFailed;

  CaMetrics(MeterRegistry registry, RootRotation rotation) {
    for (Api api : Api.values()) {
      Map<KeyAlgorithm, Counter> byKey = new EnumMap<>(KeyAlgorithm.class);
      for (KeyAlgorithm algorithm : KeyAlgorithm.values()) {
        byKey.put(algorithm, Counter.builder("meshguard.ca.issued").tag("api", api.tag())
            .tag("key_type", algorithm.configName())
            .description("X.509-SVIDs issued, by API and key type").register(registry));
      }
      issued.put(api, byKey);
      Map<Status.Code, Counter> byCode = new EnumMap<>(Status.Code.class);
      for (Status.Code code : REFUSAL_CODES) {
        byCode.put(code, Counter.builder("meshguard.ca.refused").tag("api", api.tag())
            .tag("reason", code.name().toLowerCase(Locale.ROOT))
            .description("Issuances refused (no certificate), by API and gRPC code").register(registry));
      }
      refused.put(api, byCode);
    }
    latency = Timer.builder("meshguard.ca.request.latency")
        .description("Time to answer one CreateCertificate call, authentication included").register(registry);
    Gauge.builder("meshguard.ca.certificate.expiry.timestamp", rotation,
            r -> r.signer().signingCertificate().getNotAfter().getTime() / 1000.0)
        .tag("certificate", "signing").baseUnit("seconds")
        .description("When the CA's certificates expire (Unix time)").register(registry);
    Gauge.builder("meshguard.ca.certificate.expiry.timestamp", rotation,
            r -> r.signer().caChain().getLast().getNotAfter().getTime() / 1000.0)
        .tag("certificate", "root").baseUnit("seconds")
        .description("When the CA's certificates expire (Unix time)").register(registry);
    reloaded = Counter.builder("meshguard.ca.reloads").tag("result", "ok")
        .description("Re-reads of a plugged-in CA's changed files").register(registry);
    reloadFailed = Counter.builder("meshguard.ca.reloads").tag("result", "failed")
        .description("Re-reads of a plugged-in CA's changed files").register(registry);
  }

  /** A CreateCertificate call that returned a certificate. */
  void issued(KeyAlgorithm keyAlgorithm, long nanos) {
    issued.get(Api.ISTIO).get(keyAlgorithm).increment();
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A CreateCertificate call answered without one. */
  void refused(Status.Code code, long nanos) {
    refusedCounter(Api.ISTIO, code).increment();
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A Workload API SVID issued (no call waits for it, so no latency). */
  void workloadIssued(KeyAlgorithm keyAlgorithm) {
    issued.get(Api.WORKLOAD).get(keyAlgorithm).increment();
  }

  void workloadRefused(Status.Code code) {
    refusedCounter(Api.WORKLOAD, code).increment();
  }

  void reloaded(boolean ok) {
    (ok ? reloaded : reloadFailed).increment();
  }

  private Counter refusedCounter(Api api, Status.Code code) {
    Counter counter = refused.get(api).get(code);
    // Every code either API answers is listed; never null.
    return counter != null ? counter : refused.get(api).get(Status.Code.INTERNAL);
  }
}

package dev.meshguard.ca.server;

import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.core.crypto.KeyAlgorithm;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.security.cert.X509Certificate;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CA server's meters, all registered at start so the request path only increments:
 * <ul>
 *   <li>{@code meshguard_ca_issued_total{key_type}}: certificates issued, by the leaf's key type;
 *   <li>{@code meshguard_ca_refused_total{reason}}: calls answered without a certificate, by gRPC
 *       code ({@code unauthenticated}, {@code permission_denied}, {@code invalid_argument},
 *       {@code unavailable}, {@code internal});
 *   <li>{@code meshguard_ca_request_latency_seconds}: the time of every CreateCertificate call;
 *   <li>{@code meshguard_ca_certificate_expiry_timestamp_seconds{certificate}}: when the signing
 *       certificate ({@code signing}) and the root it chains to ({@code root}) expire, as Unix
 *       time (istiod: {@code cert_chain_expiry_timestamp}, {@code root_cert_expiry_timestamp}).
 * </ul>
 */
final class CaMetrics {
  static final List<Status.Code> REFUSAL_CODES = List.of(Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED,
      Status.Code.INVALID_ARGUMENT, Status.Code.UNAVAILABLE, Status.Code.INTERNAL);

  private final Map<KeyAlgorithm, Counter> issued = new EnumMap<>(KeyAlgorithm.class);
  private final Map<Status.Code, Counter> refused = new EnumMap<>(Status.Code.class);
  private final Timer latency;

  CaMetrics(MeterRegistry registry, CertificateAuthority ca) {
    for (KeyAlgorithm algorithm : KeyAlgorithm.values()) {
      issued.put(algorithm, Counter.builder("meshguard.ca.issued").tag("key_type", algorithm.configName())
          .description("X.509-SVIDs issued through the Istio CA API").register(registry));
    }
    for (Status.Code code : REFUSAL_CODES) {
      refused.put(code, Counter.builder("meshguard.ca.refused")
          .tag("reason", code.name().toLowerCase(java.util.Locale.ROOT))
          .description("Istio CA API calls answered without a certificate, by gRPC code").register(registry));
    }
    latency = Timer.builder("meshguard.ca.request.latency")
        .description("Time to answer one CreateCertificate call, authentication included").register(registry);
    X509Certificate signing = ca.signingCertificate();
    X509Certificate root = ca.caChain().getLast();
    Gauge.builder("meshguard.ca.certificate.expiry.timestamp", signing, c -> c.getNotAfter().getTime() / 1000.0)
        .tag("certificate", "signing").baseUnit("seconds")
        .description("When the CA's certificates expire (Unix time)").register(registry);
    Gauge.builder("meshguard.ca.certificate.expiry.timestamp", root, c -> c.getNotAfter().getTime() / 1000.0)
        .tag("certificate", "root").baseUnit("seconds")
        .description("When the CA's certificates expire (Unix time)").register(registry);
  }

  void issued(KeyAlgorithm keyAlgorithm, long nanos) {
    issued.get(keyAlgorithm).increment();
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  void refused(Status.Code code, long nanos) {
    Counter counter = refused.get(code);
    if (counter == null) {
      counter = refused.get(Status.Code.INTERNAL); // every code the service answers is listed; never reached
    }
    counter.increment();
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }
}

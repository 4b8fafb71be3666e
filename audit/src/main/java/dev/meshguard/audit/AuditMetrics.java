package dev.meshguard.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.function.Supplier;

/** The audit log's meters: queue depth, events and bytes written, fsync latency, dropped, rejected. */
final class AuditMetrics {
  final Counter written;
  final Counter bytes;
  final Counter dropped;
  final Counter rejected;
  final Counter checkpoints;
  final Timer fsync;

  AuditMetrics(MeterRegistry registry, Supplier<Number> queueDepth) {
    Gauge.builder("meshguard_audit_queue_depth", queueDepth).description("events waiting for the audit writer")
        .register(registry);
    written = Counter.builder("meshguard_audit_events_written").description("events written to the audit log")
        .register(registry);
    bytes = Counter.builder("meshguard_audit_bytes_written").baseUnit("bytes").register(registry);
    dropped = Counter.builder("meshguard_audit_events_dropped")
        .description("best-effort events dropped because the queue was full").register(registry);
    rejected = Counter.builder("meshguard_audit_events_rejected")
        .description("appends refused: queue full past the bound, write failure or closed log").register(registry);
    checkpoints = Counter.builder("meshguard_audit_checkpoints_written").register(registry);
    fsync = Timer.builder("meshguard_audit_fsync").description("fsync latency of one group commit")
        .publishPercentileHistogram().register(registry);
  }
}

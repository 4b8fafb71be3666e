package dev.meshguard.bench;

import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.Durability;
import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One timed run of the audit log: producer threads append {@code events} events with one
 * durability; the clock runs from their start until {@link AuditLog#close()} returns, which is
 * when every event is written and fsynced (close also writes the closing checkpoint).
 *
 * <p>The log's own {@code meshguard_audit_fsync} timer counts its group commits (event batches and
 * checkpoints, one fsync each), which is what the baseline's batching copies.
 */
final class AuditRun {
  // Producers here outpace the writer on purpose and wait for room in the queue (backpressure)
  // rather than give up after the production default of 50 ms: a noisy machine's pause should show
  // as a lower rate, not as a failed run. 10 s is the most an audit config allows.
  private static final Duration PRODUCER_PATIENCE = Duration.ofSeconds(10);

  /**
   * @param events events the producers appended, all written
   * @param lines lines the log wrote: the events plus its checkpoints
   * @param commits the log's fsyncs of lines (its group commits)
   * @param nanos from the producers' start until close returned
   * @param directory the log's directory, holding what was written
   */
  record Result(long events, long lines, long commits, long nanos, Path directory) {
    double eventsPerSecond() {
      return events * 1e9 / nanos;
    }

    /** Lines per group commit, as the writer batched them. */
    double avgBatch() {
      return (double) lines / commits;
    }
  }

  private AuditRun() {}

  /** Runs a log in {@code directory} (new and empty) with the default options but producer patience. */
  static Result run(Path directory, Durability durability, int producers, int events, List<AuditEvent> pool,
      Clock clock) throws IOException, InterruptedException {
    Objects.requireNonNull(durability, "durability");
    if (durability == Durability.BEST_EFFORT) {
      throw new IllegalArgumentException("best-effort appends may drop events; time BUFFERED or DURABLE");
    }
    if (producers < 1 || events < producers) {
      throw new IllegalArgumentException("need 1 <= producers <= events, found " + producers + " and " + events);
    }
    AuditOptions options = AuditOptions.builder(directory).maxWaitWhenFull(PRODUCER_PATIENCE).build();
    AppendOutcome expected = durability == Durability.DURABLE ? AppendOutcome.WRITTEN : AppendOutcome.QUEUED;
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    AtomicReference<String> failure = new AtomicReference<>();
    CountDownLatch start = new CountDownLatch(1);
    AuditLog log = AuditLog.open(options, clock, meters);
    try {
      List<Thread> threads = new ArrayList<>(producers);
      for (int p = 0; p < producers; p++) {
        int share = events / producers + (p < events % producers ? 1 : 0);
        int first = p * (pool.size() / producers);
        threads.add(Thread.ofPlatform().name("bench-producer-" + p).start(() -> {
          try {
            start.await();
          } catch (InterruptedException e) {
            failure.compareAndSet(null, "a producer was interrupted");
            return;
          }
          for (int i = 0; i < share; i++) {
            AppendOutcome outcome = log.append(pool.get((first + i) % pool.size()), durability);
            if (outcome != expected) {
              failure.compareAndSet(null, "a " + durability + " append returned " + outcome + ", not " + expected);
              return;
            }
          }
        }));
      }
      long startNanos = clock.nanoTime();
      start.countDown();
      for (Thread thread : threads) {
        thread.join();
      }
      log.close();
      long nanos = clock.nanoTime() - startNanos;
      if (failure.get() != null) {
        throw new IllegalStateException(failure.get());
      }
      long lines = log.writtenCount();
      long checkpoints = (long) meters.get("meshguard_audit_checkpoints_written").counter().count();
      if (lines - checkpoints != events || log.queueDepth() != 0) {
        throw new IllegalStateException("the log wrote " + (lines - checkpoints) + " of " + events
            + " events before close returned");
      }
      long commits = meters.get("meshguard_audit_fsync").timer().count();
      return new Result(events, lines, commits, nanos, directory);
    } finally {
      log.close();
    }
  }
}

package dev.meshguard.bench;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A gRPC load generator for {@code envoy.service.auth.v3.Authorization/Check}, written for the
 * authz-load suite (the load tools that exist, ghz and wrk2, are not Java and cannot share the
 * suite's JVM, client and request objects; the method is wrk2's).
 *
 * <h2>Open loop ({@link #openLoop})</h2>
 * Request {@code i} of a run is due at {@code t0 + i / rate}, whatever happened to the earlier
 * ones: the sending thread sleeps until the next request is due and then sends every request that
 * is due, each stamped with its own intended send time. The latency recorded is the time from that
 * intended send time to the response, so a server (or client) that stalls is charged for every
 * request that should have gone out meanwhile, not just for the one it held up: this is what
 * avoids coordinated omission (Gil Tene, "How NOT to measure latency"; wrk2). A request due while
 * {@code maxOutstanding} are already in flight is not sent and counts as an error ({@code unsent})
 * rather than silently waiting, which would be coordinated omission again.
 *
 * <h2>Closed loop ({@link #closedLoop})</h2>
 * {@code outstanding} calls are kept in flight, each completion sending the next: the most the
 * target answers per second with that concurrency, its maximum throughput.
 *
 * <p>Calls are asynchronous (grpc-java async stubs) and spread round-robin over the target's
 * channels (one HTTP/2 connection each); responses are handled on the channels' own threads (the
 * channels are built with a direct executor), which only record into an HdrHistogram
 * {@link Recorder} (wait-free for concurrent writers) and bump counters. Every call has a
 * deadline, so a run always ends; a call still in flight after the drain only updates the run it
 * belongs to, never the next.
 */
final class LoadGenerator {
  /** Each call's deadline: far above any latency of interest, it only bounds a run. */
  static final Duration CALL_DEADLINE = Duration.ofSeconds(5);
  /** How long the end of a run waits for the calls in flight. */
  private static final Duration DRAIN = CALL_DEADLINE.plusSeconds(1);

  private final List<AuthorizationGrpc.AuthorizationStub> stubs;
  private final List<CheckRequest> requests;

  /**
   * @param channels the target's channels, built with a direct executor
   * @param requests what is sent, in turn (the same list for every target)
   */
  LoadGenerator(List<ManagedChannel> channels, List<CheckRequest> requests) {
    if (channels.isEmpty() || requests.isEmpty()) {
      throw new IllegalArgumentException("need at least one channel and one request");
    }
    this.stubs = channels.stream().map(AuthorizationGrpc::newStub).toList();
    this.requests = List.copyOf(requests);
  }

  /**
   * What one open-loop run saw.
   *
   * @param rate the target rate, requests per second
   * @param latency response time minus intended send time, ns, of every answered call
   * @param answered calls answered (OK RPCs, allow or deny)
   * @param denied answered calls whose {@code status} was not OK (PERMISSION_DENIED)
   * @param failed calls that ended in an RPC error (including the deadline)
   * @param unsent requests not sent because {@code maxOutstanding} were in flight
   * @param nanos from {@code t0} until the last answer (or the end of the schedule, if later)
   */
  record OpenLoopResult(int rate, Histogram latency, long answered, long denied, long failed, long unsent,
      long nanos) {
    /** Answers per second over the run. */
    double achievedRate() {
      return answered * 1e9 / nanos;
    }

    long errors() {
      return failed + unsent;
    }
  }

  /**
   * What one closed-loop run saw.
   *
   * @param answered calls answered within the window
   * @param failed calls that ended in an RPC error (each ends its chain)
   * @param nanos the window
   */
  record ClosedLoopResult(long answered, long failed, long nanos) {
    double perSecond() {
      return answered * 1e9 / nanos;
    }
  }

  /**
   * Sends {@code rate} requests per second for {@code duration} on the open-loop schedule of the
   * class comment, then waits for the calls in flight.
   */
  OpenLoopResult openLoop(int rate, Duration duration, int maxOutstanding) throws InterruptedException {
    if (rate < 1 || maxOutstanding < 1 || duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("need rate >= 1, maxOutstanding >= 1 and a positive duration");
    }
    long count = Math.max(1, rate * duration.toNanos() / 1_000_000_000L);
    OpenRun run = new OpenRun();
    long unsent = 0;
    long t0 = System.nanoTime() + 1_000_000; // a millisecond to get the first request out on time
    for (long i = 0; i < count; i++) {
      long intended = t0 + Math.round(i * 1e9 / rate);
      long now;
      while ((now = System.nanoTime()) < intended) {
        // Sleeping, not spinning: the machine has few cores and the servers need them. An
        // oversleep sends the overdue requests back to back, each charged from its own due time.
        LockSupport.parkNanos(intended - now);
      }
      if (run.outstanding.incrementAndGet() > maxOutstanding) {
        run.outstanding.decrementAndGet();
        unsent++;
        continue;
      }
      stubs.get((int) (i % stubs.size())).withDeadlineAfter(CALL_DEADLINE.toNanos(), TimeUnit.NANOSECONDS)
          .check(requests.get((int) (i % requests.size())), run.observer(intended));
    }
    long scheduleEnd = t0 + Math.round(count * 1e9 / rate);
    long drainEnd = System.nanoTime() + DRAIN.toNanos();
    while (run.outstanding.get() > 0 && System.nanoTime() < drainEnd) {
      Thread.sleep(1);
    }
    if (run.outstanding.get() > 0) {
      throw new IllegalStateException(run.outstanding.get() + " calls still in flight " + DRAIN.toSeconds()
          + " s after the last was sent, past their deadline");
    }
    long end = Math.max(scheduleEnd, run.lastAnswer.get());
    return new OpenLoopResult(rate, run.latency.getIntervalHistogram(), run.answered.sum(), run.denied.sum(),
        run.failed.sum(), unsent, end - t0);
  }

  /** The state of one open-loop run, which late callbacks of a finished run can only touch. */
  private static final class OpenRun {
    final Recorder latency = new Recorder(3);
    final AtomicInteger outstanding = new AtomicInteger();
    final LongAdder answered = new LongAdder();
    final LongAdder denied = new LongAdder();
    final LongAdder failed = new LongAdder();
    final AtomicLong lastAnswer = new AtomicLong();

    StreamObserver<CheckResponse> observer(long intended) {
      return new StreamObserver<>() {
        private boolean allowed;

        @Override
        public void onNext(CheckResponse response) {
          allowed = response.getStatus().getCode() == 0;
        }

        @Override
        public void onError(Throwable t) {
          failed.increment();
          outstanding.decrementAndGet();
        }

        @Override
        public void onCompleted() {
          long now = System.nanoTime();
          latency.recordValue(Math.max(0, now - intended));
          answered.increment();
          if (!allowed) {
            denied.increment();
          }
          lastAnswer.accumulateAndGet(now, Math::max);
          outstanding.decrementAndGet();
        }
      };
    }
  }

  /** Keeps {@code outstanding} calls in flight for {@code duration}; see the class comment. */
  ClosedLoopResult closedLoop(int outstanding, Duration duration) throws InterruptedException {
    if (outstanding < 1 || duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("need outstanding >= 1 and a positive duration");
    }
    ClosedRun run = new ClosedRun(System.nanoTime() + duration.toNanos(), outstanding);
    long start = run.end - duration.toNanos();
    for (int chain = 0; chain < outstanding; chain++) {
      run.send();
    }
    if (!run.done.await(duration.plus(DRAIN).toNanos(), TimeUnit.NANOSECONDS)) {
      throw new IllegalStateException(run.done.getCount() + " of " + outstanding
          + " closed-loop chains did not finish within the drain");
    }
    return new ClosedLoopResult(run.answered.sum(), run.failed.sum(), run.end - start);
  }

  /** One closed-loop run: each chain sends its next call when the last one ends, until {@code end}. */
  private final class ClosedRun {
    final long end;
    final CountDownLatch done;
    final AtomicLong sequence = new AtomicLong();
    final LongAdder answered = new LongAdder();
    final LongAdder failed = new LongAdder();

    ClosedRun(long end, int chains) {
      this.end = end;
      this.done = new CountDownLatch(chains);
    }

    void send() {
      long i = sequence.getAndIncrement();
      stubs.get((int) (i % stubs.size())).withDeadlineAfter(CALL_DEADLINE.toNanos(), TimeUnit.NANOSECONDS)
          .check(requests.get((int) (i % requests.size())), new StreamObserver<>() {
            @Override
            public void onNext(CheckResponse response) {}

            @Override
            public void onError(Throwable t) {
              // The chain ends: resending at once could recurse (an error may be delivered in
              // check() itself) and would measure how fast errors come back.
              failed.increment();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              if (System.nanoTime() < end) {
                answered.increment();
                send();
              } else {
                done.countDown();
              }
            }
          });
    }
  }

  static Histogram empty() {
    return new Histogram(3);
  }

  static Histogram merge(List<Histogram> histograms) {
    Histogram merged = empty();
    histograms.forEach(h -> merged.add(Objects.requireNonNull(h, "histogram")));
    return merged;
  }
}

package dev.meshguard.bench;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * rls-load's client: {@code ShouldRateLimit} calls over one gRPC channel (grpc-java on Netty, the
 * transport the servers use), in two shapes.
 *
 * <ul>
 *   <li>{@link #closedLoop}: {@code outstanding} asynchronous calls in flight at all times, each
 *       completion sending the next; calls completed per second is the server's maximum throughput
 *       at that concurrency.
 *   <li>{@link #openLoop}: calls sent at a fixed rate whatever the answers, latency measured from
 *       each call's <em>intended</em> send time (so a stall delays every call scheduled behind it
 *       and shows in the percentiles instead of slowing the sender: no coordinated omission).
 * </ul>
 *
 * The requests are prebuilt (protobuf building is the client's cost, not the server's) and cycle:
 * domain {@value #DOMAIN}, 1 or 3 descriptors of one entry each ({@code user}, {@code route},
 * {@code tenant}), each value drawn from {@code keys} distinct ones with a fixed seed.
 *
 * <p>Progress and timing use {@code System.nanoTime()} directly: this is the measuring harness,
 * not logic under test.
 */
final class RlsLoad implements AutoCloseable {
  static final String DOMAIN = "bench";
  static final List<String> KEYS = List.of("user", "route", "tenant");
  private static final int PREBUILT_REQUESTS = 8192;
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** What a closed-loop run measured. */
  record Throughput(double callsPerSecond, long calls, long errors) {}

  /** What an open-loop run measured; latencies in microseconds, from the intended send time. */
  record Latency(double ratePerSecond, long calls, long errors, double p50Micros, double p99Micros,
      double maxMicros) {}

  private final ManagedChannel channel;
  private final RateLimitServiceGrpc.RateLimitServiceStub stub;
  private final AtomicLong completed = new AtomicLong(); // every answered call, errors included
  private final AtomicLong errors = new AtomicLong();

  /** A client of the server at {@code 127.0.0.1:port}. */
  RlsLoad(int port) {
    // Callbacks run on the transport's threads (directExecutor): each only records and sends the
    // next call, and an executor hop per call would be most of what the null server costs.
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().directExecutor().build();
    this.stub = RateLimitServiceGrpc.newStub(channel);
  }

  /** The prebuilt requests of {@code descriptors} descriptors over {@code keys} values per descriptor key. */
  static RateLimitRequest[] requests(int descriptors, int keys, long seed) {
    if (descriptors < 1 || descriptors > KEYS.size()) {
      throw new IllegalArgumentException("descriptors must be 1 to " + KEYS.size() + ", found " + descriptors);
    }
    SplittableRandom random = new SplittableRandom(seed);
    RateLimitRequest[] requests = new RateLimitRequest[PREBUILT_REQUESTS];
    for (int i = 0; i < requests.length; i++) {
      RateLimitRequest.Builder request = RateLimitRequest.newBuilder().setDomain(DOMAIN);
      for (int d = 0; d < descriptors; d++) {
        request.addDescriptors(RateLimitDescriptor.newBuilder().addEntries(RateLimitDescriptor.Entry.newBuilder()
            .setKey(KEYS.get(d)).setValue(KEYS.get(d).charAt(0) + Integer.toString(random.nextInt(keys)))));
      }
      requests[i] = request.build();
    }
    return requests;
  }

  /**
   * Sends {@code calls} calls one after another and waits for each: connects the channel and
   * warms both ends' code paths before anything is timed.
   */
  void prime(RateLimitRequest[] requests, int calls) {
    RateLimitServiceGrpc.RateLimitServiceBlockingStub blocking = RateLimitServiceGrpc.newBlockingStub(channel);
    for (int i = 0; i < calls; i++) {
      blocking.withDeadlineAfter(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .shouldRateLimit(requests[i % requests.length]);
    }
  }

  /** Calls answered since this client was made, errors included. */
  long completed() {
    return completed.get();
  }

  /**
   * Keeps {@code outstanding} calls in flight for {@code warmup} and then {@code measure}, and
   * reports the calls completed per second during {@code measure}. Returns after every call has
   * been answered.
   */
  Throughput closedLoop(RateLimitRequest[] requests, int outstanding, Duration warmup, Duration measure)
      throws InterruptedException, TimeoutException {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong next = new AtomicLong();
    AtomicLong inFlight = new AtomicLong(outstanding);
    for (int i = 0; i < outstanding; i++) {
      sendClosed(requests, next, stop, inFlight);
    }
    Thread.sleep(warmup.toMillis());
    long startCount = completed.get();
    long startErrors = errors.get();
    long start = System.nanoTime();
    Thread.sleep(measure.toMillis());
    long endCount = completed.get();
    long end = System.nanoTime();
    long endErrors = errors.get();
    stop.set(true);
    awaitZero(inFlight);
    long calls = endCount - startCount;
    return new Throughput(calls / ((end - start) / 1e9), calls, endErrors - startErrors);
  }

  private void sendClosed(RateLimitRequest[] requests, AtomicLong next, AtomicBoolean stop, AtomicLong inFlight) {
    RateLimitRequest request = requests[(int) (next.getAndIncrement() % requests.length)];
    stub.shouldRateLimit(request, new Answer() {
      @Override
      void done(boolean ok) {
        if (stop.get()) {
          inFlight.decrementAndGet();
        } else {
          sendClosed(requests, next, stop, inFlight);
        }
      }
    });
  }

  /**
   * Sends calls at {@code ratePerSecond} for {@code warmup} and then {@code measure}, and reports
   * the latency of the calls intended during {@code measure}, from their intended send times.
   */
  Latency openLoop(RateLimitRequest[] requests, double ratePerSecond, Duration warmup, Duration measure)
      throws InterruptedException, TimeoutException {
    Histogram histogram = new ConcurrentHistogram(3);
    long interval = Math.max(1, Math.round(1e9 / ratePerSecond));
    long warmupCalls = warmup.toNanos() / interval;
    long totalCalls = warmupCalls + Math.max(1, measure.toNanos() / interval);
    AtomicLong inFlight = new AtomicLong(totalCalls);
    AtomicLong measuredErrors = new AtomicLong();
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
    for (long i = 0; i < totalCalls; i++) {
      long intended = start + i * interval;
      long now;
      while ((now = System.nanoTime()) < intended) {
        LockSupport.parkNanos(intended - now);
      }
      boolean measured = i >= warmupCalls;
      stub.shouldRateLimit(requests[(int) (i % requests.length)], new Answer() {
        @Override
        void done(boolean ok) {
          if (measured) {
            histogram.recordValue(Math.max(0, System.nanoTime() - intended));
            if (!ok) {
              measuredErrors.incrementAndGet();
            }
          }
          inFlight.decrementAndGet();
        }
      });
    }
    awaitZero(inFlight);
    return new Latency(1e9 / interval, histogram.getTotalCount(), measuredErrors.get(),
        histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
        histogram.getMaxValue() / 1e3);
  }

  private static void awaitZero(AtomicLong inFlight) throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    while (inFlight.get() > 0) {
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(inFlight.get() + " calls still unanswered after " + DRAIN_TIMEOUT.toSeconds() + " s");
      }
      Thread.sleep(1);
    }
  }

  /** One call's answer: counts it, and an error (a gRPC status, or a response without a status per descriptor). */
  private abstract class Answer implements StreamObserver<RateLimitResponse> {
    private boolean answered;

    abstract void done(boolean ok);

    @Override
    public void onNext(RateLimitResponse response) {
      answered = response.getStatusesCount() > 0;
    }

    @Override
    public void onError(Throwable t) {
      errors.incrementAndGet();
      completed.incrementAndGet();
      done(false);
    }

    @Override
    public void onCompleted() {
      if (!answered) {
        errors.incrementAndGet();
      }
      completed.incrementAndGet();
      done(answered);
    }
  }

  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}

package dev.meshguard.ratelimit;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Threads that call {@link RateLimitEngine#decide} in a loop until stopped, recording when each
 * answer came, how long it took and whether the store failed. For fault tests: the engine must
 * answer every call, quickly, whatever Redis does.
 */
final class Load implements AutoCloseable {

  /** One answer: when it was asked (nanoTime), how long it took, whether the failure mode answered. */
  record Answer(long startedNanos, long tookNanos, boolean storeFailed, Code code) {}

  private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<Throwable> thrown = new AtomicReference<>();
  private final ExecutorService pool;
  private final List<Future<?>> workers;

  Load(RateLimitEngine engine, String domain, List<List<Descriptor>> requests, int threads) {
    pool = Executors.newFixedThreadPool(threads);
    workers = java.util.stream.IntStream.range(0, threads).<Future<?>>mapToObj(t -> pool.submit(() -> {
      int i = t;
      while (running.get()) {
        List<Descriptor> request = requests.get(i++ % requests.size());
        long start = System.nanoTime();
        try {
          RateLimitDecision decision = engine.decide(domain, request, 1);
          answers.add(new Answer(start, System.nanoTime() - start, decision.storeFailed(), decision.overallCode()));
        } catch (Throwable e) {
          thrown.compareAndSet(null, e);
          return;
        }
      }
    })).toList();
  }

  /** The answers so far. */
  List<Answer> answers() {
    return List.copyOf(answers);
  }

  /**
   * Waits until the last 100 answers were all decided by the store: warmed up (scripts loaded,
   * connections open, JIT done) and healthy before a fault is injected.
   */
  void awaitHealthy() {
    dev.meshguard.testkit.Await.until(java.time.Duration.ofSeconds(30), () -> {
      List<Answer> all = answers();
      return all.size() >= 100 && all.subList(all.size() - 100, all.size()).stream().noneMatch(Answer::storeFailed);
    }, () -> "100 answers in a row decided by the store");
  }

  /** Answers asked after {@code nanos}. */
  List<Answer> since(long nanos) {
    return answers.stream().filter(a -> a.startedNanos() >= nanos).toList();
  }

  /** Stops the threads and rethrows anything a call threw (the engine must never throw). */
  @Override
  public void close() {
    running.set(false);
    for (Future<?> f : workers) {
      try {
        f.get(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while stopping the load", e);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new AssertionError("a load thread did not stop cleanly", e);
      }
    }
    pool.shutdownNow();
    if (thrown.get() != null) {
      throw new AssertionError("decide threw", thrown.get());
    }
  }
}

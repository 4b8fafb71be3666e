package dev.meshguard.bench;

import dev.meshguard.audit.AppendOutcome;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.Durability;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What a {@link Durability#BUFFERED} append costs the producer's thread (a request thread of the
 * authz or rate-limit server): the time of {@link AuditLog#append} alone, sampled by JMH
 * ({@link Mode#SampleTime}) while the log's writer thread masks, encodes, chains and fsyncs behind it.
 *
 * <p>The queue must never fill, or the figure would be the writer's speed instead of the
 * hand-off's. An append takes tens of nanoseconds and the writer needs microseconds per event, so
 * an unchecked producer fills any queue within milliseconds (and leaves seconds of writing behind).
 * Before each append an untimed {@link Level#Invocation} set-up therefore waits, parked, while
 * {@link #highWater} or more events are waiting: the producer runs at the writer's pace, the queue
 * (of the production default size) never holds more than {@code highWater} events, and no append
 * ever waits for room. The set-up reads the log's lock-free {@link AuditLog#writtenCount()} rather
 * than {@link AuditLog#queueDepth()}, which takes the queue's lock that appends contend for.
 *
 * <p>The event is one prepared instance: building events is the caller's cost, not the log's. The
 * figures include one {@code System.nanoTime()} of timer overhead (some 20 ns), as any per-call
 * timing does. Warm-up and measurement settings come from the suite ({@link AuditWriteSuite}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class AuditAppendBenchmark {
  private static final long ROOM_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  /** Where the log is written (in a directory of its own, deleted after). */
  @Param("")
  public String directory;

  /** The most events waiting for the writer; two of its batches, far below the queue's capacity. */
  @Param("8192")
  public int highWater;

  private AuditEvent event;
  private AuditLog log;
  private Path logDirectory;
  // Events handed over so far, counted outside the timed call; with writtenCount() (which also
  // counts the log's checkpoints, so this errs low) it bounds the queue's depth.
  private long appended;

  @Setup(Level.Trial)
  public void openLog() throws IOException {
    if (highWater < 1 || highWater >= AuditOptions.DEFAULT_QUEUE_CAPACITY) {
      throw new IllegalArgumentException("highWater must be between 1 and the queue capacity "
          + AuditOptions.DEFAULT_QUEUE_CAPACITY + ", found " + highWater);
    }
    event = SampleEvents.authzDecisions(1, Clock.SYSTEM).get(0);
    Path parent = directory.isEmpty() ? Path.of(System.getProperty("java.io.tmpdir")) : Path.of(directory);
    logDirectory = Dirs.create(parent, "append-");
    log = AuditLog.open(AuditOptions.in(logDirectory), Clock.SYSTEM);
    appended = 0;
  }

  @Setup(Level.Invocation)
  public void waitForRoom() {
    while (appended - log.writtenCount() >= highWater) {
      LockSupport.parkNanos(ROOM_POLL_NANOS);
    }
    appended++;
  }

  @Benchmark
  public AppendOutcome append() {
    return log.append(event, Durability.BUFFERED);
  }

  @TearDown(Level.Trial)
  public void closeLog() throws IOException {
    log.close();
    long rejected = log.rejectedCount();
    Dirs.delete(logDirectory);
    if (rejected > 0) {
      throw new IllegalStateException(rejected + " appends were rejected: the queue filled, so the samples"
          + " include waits for room");
    }
  }
}

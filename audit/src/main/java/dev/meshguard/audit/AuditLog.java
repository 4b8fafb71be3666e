package dev.meshguard.audit;

import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The append-only, hash-chained audit log of one process.
 *
 * <p>Design: producers never touch the file. {@link #append} puts the event on a bounded queue
 * and returns according to its {@link Durability}; one writer thread takes whatever has queued
 * up (up to {@code maxBatch}), chains each event to the one before ({@link EventLine}), writes the
 * whole batch with one {@code write} and one {@code fsync} (group commit); the fsync runs on a
 * second thread, so the writer encodes the next batch while the disk syncs this one (at most one
 * fsync in flight), and it completes the futures of the durable producers in its batch. Under
 * load batches grow, so the fsync cost is shared by many events; when idle, an event is written
 * as soon as it arrives. A crash can lose buffered events of the last two batches: the one being
 * synced and the one being written.
 *
 * <p>Nothing accepted is dropped silently: a full queue makes durable and buffered producers wait
 * up to {@code maxWaitWhenFull} and then get {@link AppendOutcome#REJECTED} (the caller applies its
 * failure mode); best-effort producers get {@link AppendOutcome#DROPPED}, which is counted.
 *
 * <p>Checkpoints: after {@code checkpointEveryEvents} events, or {@code checkpointInterval} with
 * unsigned events, at every rotation and at close, the writer appends a {@code checkpoint} event
 * signed with the log's ECDSA P-256 key ({@link Checkpoints}); it also carries the number of
 * best-effort events dropped since the previous one, so a gap is always visible.
 *
 * <p>Masking ({@link Masking}) is applied by the writer thread before encoding.
 *
 * <p>Crash recovery: a {@code kill -9} during a write leaves at most one partial trailing line.
 * {@link #open} truncates it, continues the chain from the last complete line, and records a
 * {@code recovered} event saying how many bytes were cut.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
  private static final Pending POISON = new Pending(null, null);

  private final AuditOptions options;
  private final Clock clock;
  private final BlockingQueue<Pending> queue;
  private final Thread writer;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final Checkpoints.SigningKey signingKey;
  private final AuditMetrics metrics;
  private volatile boolean closed;
  // Set by the sync thread when an fsync fails: nothing after it can be called durable.
  private volatile boolean syncFailed;
  // fsyncs run here, so the writer encodes and writes the next batch while the disk syncs this one.
  private final ExecutorService syncer = Executors.newSingleThreadExecutor(
      Thread.ofPlatform().name("meshguard-audit-sync").daemon(true).factory());
  private Future<?> pendingSync = CompletableFuture.completedFuture(null); // writer thread only

  // Writer-thread state only.
  private FileChannel segment;
  private long segmentBytes;
  private long segmentOpenedNanos;
  private long nextSeq;
  private String prevHash;
  private long unsignedEvents;
  private long lastCheckpointNanos;
  private long droppedReported;
  private boolean rotating;
  private final EventLine.Encoder encoder;

  private record Pending(AuditEvent event, CompletableFuture<Void> durable) {}

  private AuditLog(AuditOptions options, Clock clock, long nextSeq, String prevHash,
      Checkpoints.SigningKey signingKey, MeterRegistry registry) {
    this.options = options;
    this.clock = clock;
    this.queue = new ArrayBlockingQueue<>(options.queueCapacity());
    this.nextSeq = nextSeq;
    this.prevHash = prevHash;
    this.encoder = new EventLine.Encoder(prevHash);
    this.signingKey = signingKey;
    this.metrics = new AuditMetrics(registry, queue::size);
    this.lastCheckpointNanos = clock.nanoTime();
    this.writer = Thread.ofPlatform().name("meshguard-audit-writer").daemon(true).unstarted(this::writeLoop);
  }

  /**
   * Opens (creating if needed) the log in {@code options.directory()}, recovering from a partial
   * trailing line, and starts the writer thread.
   */
  public static AuditLog open(AuditOptions options, Clock clock) throws IOException {
    return open(options, clock, new SimpleMeterRegistry());
  }

  /** As {@link #open(AuditOptions, Clock)}, registering the log's meters in {@code registry}. */
  public static AuditLog open(AuditOptions options, Clock clock, MeterRegistry registry) throws IOException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(registry, "registry");
    Files.createDirectories(options.directory());
    Checkpoints.SigningKey key = Checkpoints.loadOrCreate(options.checkpointKey());
    ChainTail tail = ChainTail.recover(options.directory());
    AuditLog log = new AuditLog(options, clock, tail.lastSeq() + 1, tail.lastHash(), key, registry);
    log.openSegment(tail.segment());
    log.writer.start();
    if (tail.truncatedBytes() > 0) {
      log.append(new AuditEvent(clock.now(), EventIds.next(clock), "audit", "recovered", "recovered", null, null,
          null, "truncated a partial line of " + tail.truncatedBytes() + " bytes at the end of "
              + tail.segment().getFileName() + " after an unclean stop", 0), Durability.DURABLE);
    }
    return log;
  }

  /**
   * Hands an event to the log.
   *
   * @return what became of it; see {@link AppendOutcome}
   */
  public AppendOutcome append(AuditEvent event, Durability durability) {
    Objects.requireNonNull(event, "event");
    Objects.requireNonNull(durability, "durability");
    if (closed) {
      return reject();
    }
    CompletableFuture<Void> done = durability == Durability.DURABLE ? new CompletableFuture<>() : null;
    Pending pending = new Pending(event, done);
    try {
      boolean accepted = durability == Durability.BEST_EFFORT
          ? queue.offer(pending)
          : queue.offer(pending, options.maxWaitWhenFull().toNanos(), TimeUnit.NANOSECONDS);
      if (!accepted) {
        if (durability == Durability.BEST_EFFORT) {
          dropped.incrementAndGet();
          metrics.dropped.increment();
          return AppendOutcome.DROPPED;
        }
        return reject();
      }
      if (done == null) {
        return AppendOutcome.QUEUED;
      }
      done.get();
      return AppendOutcome.WRITTEN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return reject();
    } catch (ExecutionException e) {
      // Counted as rejected by the writer, which saw the failure.
      return AppendOutcome.REJECTED;
    }
  }

  private AppendOutcome reject() {
    rejected.incrementAndGet();
    metrics.rejected.increment();
    return AppendOutcome.REJECTED;
  }

  /** Events dropped by best-effort producers since start. */
  public long droppedCount() {
    return dropped.get();
  }

  /** Appends refused (queue full past the bound, write failure, closed) since start. */
  public long rejectedCount() {
    return rejected.get();
  }

  /** Events written since start. */
  public long writtenCount() {
    return written.get();
  }

  /** Events waiting for the writer. */
  public int queueDepth() {
    return queue.size();
  }

  /** Stops accepting, writes everything queued, fsyncs and closes the segment. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      queue.put(POISON);
      writer.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      syncer.shutdown();
    }
  }

  private void writeLoop() {
    List<Pending> batch = new ArrayList<>();
    boolean running = true;
    while (running) {
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          checkpointIfDue();
          rotateIfOld();
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, options.maxBatch() - 1);
        running = writeBatch(batch);
        checkpointIfDue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        running = false;
      } finally {
        batch.clear();
      }
    }
    writeCheckpoint();
    closeSegment();
  }

  private void checkpointIfDue() {
    boolean unsigned = unsignedEvents > 0 || dropped.get() > droppedReported;
    if (unsigned && (unsignedEvents >= options.checkpointEveryEvents()
        || clock.nanoTime() - lastCheckpointNanos >= options.checkpointInterval().toNanos())) {
      writeCheckpoint();
    }
  }

  /** Appends a signed checkpoint over the current chain head (writer thread only). */
  private void writeCheckpoint() {
    if (unsignedEvents == 0 && dropped.get() == droppedReported) {
      return;
    }
    long droppedNow = dropped.get();
    java.time.Instant now = clock.now();
    AuditEvent.Checkpoint checkpoint =
        Checkpoints.sign(signingKey, nextSeq - 1, prevHash, now, droppedNow - droppedReported);
    AuditEvent event = new AuditEvent(now, EventIds.next(clock), "audit", "checkpoint", "signed", null, null, null,
        null, 0, checkpoint);
    if (writeEvents(List.of(event), List.of())) {
      droppedReported = droppedNow;
      unsignedEvents = 0;
      lastCheckpointNanos = clock.nanoTime();
      metrics.checkpoints.increment();
    }
  }

  /** Writes and fsyncs one batch; returns false when the batch held the close marker. */
  private boolean writeBatch(List<Pending> batch) {
    boolean keepRunning = true;
    List<AuditEvent> events = new ArrayList<>(batch.size());
    List<CompletableFuture<Void>> durable = new ArrayList<>();
    for (Pending pending : batch) {
      if (pending == POISON) {
        keepRunning = false;
        continue;
      }
      events.add(pending.event());
      if (pending.durable() != null) {
        durable.add(pending.durable());
      }
    }
    if (!events.isEmpty() && writeEvents(events, durable)) {
      unsignedEvents += events.size();
    }
    return keepRunning;
  }

  /**
   * Masks, chains, writes and fsyncs {@code events} (writer thread only), then completes the
   * durable producers' futures. Rotates the segment when it is full, checkpointing first.
   *
   * @return whether the events are on disk
   */
  private boolean writeEvents(List<AuditEvent> events, List<CompletableFuture<Void>> durable) {
    if (syncFailed) {
      IOException failure = new IOException("an earlier fsync of the audit log failed; nothing is acknowledged");
      rejected.addAndGet(durable.size());
      metrics.rejected.increment(durable.size());
      durable.forEach(f -> f.completeExceptionally(failure));
      return false;
    }
    long firstSeqOfBatch = nextSeq;
    String prevOfBatch = prevHash;
    try {
      // The encoder writes the whole batch into one buffer, hashing each line where it lies: one
      // write call, no per-line array or copy.
      encoder.clear();
      for (AuditEvent event : events) {
        encoder.append(options.masking().apply(event), nextSeq);
        nextSeq++;
      }
      prevHash = encoder.headHash();
      ByteBuffer lines = encoder.lines();
      long batchBytes = lines.remaining();
      while (lines.hasRemaining()) {
        segment.write(lines);
      }
      segmentBytes += batchBytes;
      written.addAndGet(events.size());
      metrics.written.increment(events.size());
      metrics.bytes.increment(batchBytes);
      syncInBackground(List.copyOf(durable));
    } catch (IOException | RuntimeException e) {
      // The batch may be partly on disk: cut the segment back to where the batch began and roll
      // the chain state back, so the next batch continues from the last event known written.
      LOG.log(Level.SEVERE, "audit write failed; " + events.size() + " events not acknowledged", e);
      nextSeq = firstSeqOfBatch;
      prevHash = prevOfBatch;
      encoder.setHead(prevOfBatch);
      try {
        awaitSync();
        segment.truncate(segmentBytes);
      } catch (IOException | RuntimeException truncateFailed) {
        // The file may now hold lines the chain state does not know: writing on would corrupt the
        // chain, so the log fails closed and every later append is refused.
        LOG.log(Level.SEVERE, "audit segment could not be cut back after a failed write; the audit log "
            + "refuses further events until restarted (recovery checks the file)", truncateFailed);
        closed = true;
      }
      rejected.addAndGet(durable.size());
      metrics.rejected.increment(durable.size());
      durable.forEach(f -> f.completeExceptionally(e));
      return false;
    }
    if (segmentBytes >= options.maxSegmentBytes()) {
      rotate();
    }
    return true;
  }

  private void rotateIfOld() {
    if (segmentBytes > 0 && clock.nanoTime() - segmentOpenedNanos >= options.maxSegmentAge().toNanos()) {
      rotate();
    }
  }

  /**
   * Hands the fsync of what was just written to the sync thread, after the previous fsync has
   * finished: a two-stage pipeline, so encoding overlaps the disk but at most one batch waits for
   * it. Durable producers are released only by an fsync that began after their bytes were
   * written. A failed fsync fails the log closed: after it nothing could honestly be called
   * durable (Linux may drop the dirty pages and report the error once).
   */
  private void syncInBackground(List<CompletableFuture<Void>> durable) {
    awaitSync();
    FileChannel channel = segment;
    pendingSync = syncer.submit(() -> {
      long start = clock.nanoTime();
      try {
        channel.force(false);
        metrics.fsync.record(clock.nanoTime() - start, TimeUnit.NANOSECONDS);
        durable.forEach(f -> f.complete(null));
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.SEVERE, "audit fsync failed; the audit log refuses further events until restarted", e);
        syncFailed = true;
        closed = true;
        rejected.addAndGet(durable.size());
        metrics.rejected.increment(durable.size());
        durable.forEach(f -> f.completeExceptionally(e));
      }
    });
  }

  /** Waits for the fsync in flight, if any (writer thread only). */
  private void awaitSync() {
    boolean interrupted = false;
    while (true) {
      try {
        pendingSync.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        break; // the sync task handles its own failures; nothing is thrown to here
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Seals the segment with a checkpoint and starts the next one at {@code nextSeq}. */
  private void rotate() {
    if (rotating) {
      return; // the sealing checkpoint itself filled the segment
    }
    rotating = true;
    try {
      writeCheckpoint();
      closeSegment();
      openSegment(options.directory().resolve(Segments.name(nextSeq)));
    } catch (IOException | UncheckedIOException e) {
      // Keep writing to the current segment if it is still open; rotation is retried when it fills.
      LOG.log(Level.SEVERE, "audit segment rotation failed", e);
    } finally {
      rotating = false;
    }
  }

  private void openSegment(Path path) throws IOException {
    segment = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    segmentBytes = segment.size();
    segmentOpenedNanos = clock.nanoTime();
  }

  private void closeSegment() {
    if (segment == null) {
      return;
    }
    awaitSync();
    try {
      segment.force(true);
      segment.close();
    } catch (IOException e) {
      throw new UncheckedIOException("closing audit segment", e);
    }
  }
}

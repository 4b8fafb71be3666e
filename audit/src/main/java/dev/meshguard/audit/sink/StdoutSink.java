package dev.meshguard.audit.sink;

import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Prints each new complete line of the audit log to a stream, byte for byte with its newline: for
 * container platforms whose log collector reads the process's standard output.
 *
 * <p>By default it starts at the end of the log, so a restarted process does not print the whole
 * history again; {@link StdoutSinkOptions.Start#afterSeq} starts elsewhere. Standard output has no
 * acknowledgement, so this sink keeps no cursor: what the platform's collector missed is still in
 * the segments (and in the {@link HttpSink}, which has one).
 *
 * <p>Each line goes out in one {@code write} call and the stream is flushed after each poll, so
 * lines stay whole even when other code prints to the same {@link PrintStream}.
 */
public final class StdoutSink implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StdoutSink.class.getName());

  private final StdoutSinkOptions options;
  private final PrintStream out;
  private final Clock clock;
  private final Pacer pacer = new Pacer();
  private final Thread thread;
  // Lifecycle, guarded by this.
  private boolean started;
  private boolean closed;
  private final AtomicLong linesPrinted = new AtomicLong();
  private final AtomicLong writeErrors = new AtomicLong();
  private final AtomicLong logErrors = new AtomicLong();
  private final AtomicLong position = new AtomicLong();

  // Written by close() before it sets closing (volatile), read by the sink thread after it sees it.
  private long closeDeadlineNanos;
  private volatile boolean closing;
  private volatile boolean abandoned;

  // Sink-thread state.
  private SegmentTailer tailer;
  private boolean logErrorReported;
  private boolean writeErrorReported;

  private StdoutSink(StdoutSinkOptions options, PrintStream out, Clock clock) {
    this.options = options;
    this.out = out;
    this.clock = clock;
    this.thread = Thread.ofPlatform().name("meshguard-audit-stdout-sink").daemon(true).unstarted(this::run);
  }

  /**
   * A sink that is not running yet; {@link #start} starts it.
   *
   * @param out {@code System.out} in production
   */
  public static StdoutSink create(StdoutSinkOptions options, PrintStream out, Clock clock) {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(clock, "clock");
    return new StdoutSink(options, out, clock);
  }

  /**
   * Fixes the starting point ({@link StdoutSinkOptions#start}) and starts printing.
   *
   * @throws IOException when the end of the log cannot be read
   * @throws IllegalStateException when called twice or after {@link #close}
   */
  public synchronized void start() throws IOException {
    if (closed || started) {
      throw new IllegalStateException("a StdoutSink starts once, before close()");
    }
    tailer = switch (options.start()) {
      case StdoutSinkOptions.FromEnd end ->
          SegmentTailer.fromEnd(options.directory(), options.pollInterval(), clock, pacer);
      case StdoutSinkOptions.AfterSeq after ->
          SegmentTailer.after(options.directory(), after.seq(), options.pollInterval(), clock, pacer);
    };
    position.set(tailer.position());
    started = true;
    thread.start();
  }

  /** Stops, first printing what is on disk for up to {@code closeTimeout}. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed || !started) {
        closed = true;
        return;
      }
      closed = true;
      closeDeadlineNanos = clock.nanoTime() + options.closeTimeout().toNanos();
      closing = true;
    }
    pacer.wake();
    try {
      if (!thread.join(options.closeTimeout().plus(options.pollInterval()).plusMillis(100))) {
        abandoned = true;
        thread.join(Duration.ofSeconds(5));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Lines printed since start. */
  public long linesPrinted() {
    return linesPrinted.get();
  }

  /** Flushes after which the stream reported an error (a closed pipe); those lines are only on disk. */
  public long writeErrors() {
    return writeErrors.get();
  }

  /** Reads of the log that failed or met damage ({@link SegmentFormatException}); printing waits there. */
  public long logErrors() {
    return logErrors.get();
  }

  /** The seq of the last line printed, or where printing started. */
  public long position() {
    return position.get();
  }

  private void run() {
    long pollNanos = options.pollInterval().toNanos();
    try {
      while (!abandoned) {
        if (closing && clock.nanoTime() - closeDeadlineNanos >= 0) {
          break;
        }
        List<LogLine> lines = readLog();
        if (lines.isEmpty()) {
          if (closing) {
            break; // everything on disk is printed
          }
          pacer.pause(pollNanos);
          continue;
        }
        print(lines);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "audit stdout sink stopped by an unexpected error", e);
    } finally {
      try {
        tailer.close();
      } catch (IOException e) {
        LOG.log(Level.FINE, "closing the audit tailer", e);
      }
    }
  }

  private List<LogLine> readLog() {
    try {
      List<LogLine> lines = tailer.poll(options.maxLinesPerWrite());
      logErrorReported = false;
      return lines;
    } catch (IOException e) {
      logErrors.incrementAndGet();
      if (!logErrorReported) {
        logErrorReported = true;
        LOG.log(Level.SEVERE, "audit stdout sink: cannot read the audit log past seq " + tailer.position()
            + "; printing waits here and retries every poll interval (run `meshguard audit verify`)", e);
      }
      return List.of();
    }
  }

  private void print(List<LogLine> lines) {
    try {
      for (LogLine line : lines) {
        line.writeLineTo(out);
      }
    } catch (IOException e) {
      // PrintStream never throws; it records the failure for checkError() below.
      throw new java.io.UncheckedIOException(e);
    }
    out.flush();
    position.set(lines.get(lines.size() - 1).seq());
    if (out.checkError()) {
      writeErrors.incrementAndGet();
      if (!writeErrorReported) {
        writeErrorReported = true;
        LOG.severe("audit stdout sink: the output stream reports an error; lines from seq " + lines.get(0).seq()
            + " on are only in the audit directory");
      }
      return;
    }
    linesPrinted.addAndGet(lines.size());
  }
}

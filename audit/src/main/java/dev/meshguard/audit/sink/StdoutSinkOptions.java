package dev.meshguard.audit.sink;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link StdoutSink}. Immutable; start from {@link #in} and change with the
 * {@code with...} methods.
 *
 * @param directory the audit directory whose segments are printed
 * @param start where printing starts
 * @param pollInterval how often the sink looks for new lines
 * @param maxLinesPerWrite lines printed between two flushes at most
 * @param closeTimeout how long {@link StdoutSink#close} keeps printing what is on disk
 */
public record StdoutSinkOptions(
    Path directory, Start start, Duration pollInterval, int maxLinesPerWrite, Duration closeTimeout) {

  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(200);
  public static final int DEFAULT_MAX_LINES_PER_WRITE = 1000;
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(2);

  /** Where a {@link StdoutSink} starts printing. */
  public sealed interface Start {
    /** The default: only lines completed after the sink starts. */
    Start END = new FromEnd();

    /** Lines with a sequence number above {@code seq} (0: the whole log). */
    static Start afterSeq(long seq) {
      return new AfterSeq(seq);
    }
  }

  /** Only lines completed after the sink starts. */
  public record FromEnd() implements Start {}

  /**
   * Lines with a sequence number above {@code seq}.
   *
   * @param seq a sequence number, 0 for the whole log
   */
  public record AfterSeq(long seq) implements Start {
    public AfterSeq {
      if (seq < 0) {
        throw new IllegalArgumentException("seq must not be negative, found " + seq);
      }
    }
  }

  public StdoutSinkOptions {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(start, "start");
    Objects.requireNonNull(pollInterval, "pollInterval");
    Objects.requireNonNull(closeTimeout, "closeTimeout");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, found " + pollInterval);
    }
    if (maxLinesPerWrite < 1) {
      throw new IllegalArgumentException("maxLinesPerWrite must be at least 1, found " + maxLinesPerWrite);
    }
    if (closeTimeout.isNegative()) {
      throw new IllegalArgumentException("closeTimeout must be zero or more, found " + closeTimeout);
    }
  }

  /** Defaults: print the lines of the log in {@code directory} completed after start. */
  public static StdoutSinkOptions in(Path directory) {
    return new StdoutSinkOptions(directory, Start.END, DEFAULT_POLL_INTERVAL, DEFAULT_MAX_LINES_PER_WRITE,
        DEFAULT_CLOSE_TIMEOUT);
  }

  public StdoutSinkOptions withStart(Start newStart) {
    return new StdoutSinkOptions(directory, newStart, pollInterval, maxLinesPerWrite, closeTimeout);
  }

  public StdoutSinkOptions withPollInterval(Duration interval) {
    return new StdoutSinkOptions(directory, start, interval, maxLinesPerWrite, closeTimeout);
  }

  public StdoutSinkOptions withMaxLinesPerWrite(int lines) {
    return new StdoutSinkOptions(directory, start, pollInterval, lines, closeTimeout);
  }

  public StdoutSinkOptions withCloseTimeout(Duration timeout) {
    return new StdoutSinkOptions(directory, start, pollInterval, maxLinesPerWrite, timeout);
  }
}

package dev.meshguard.audit.sink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.meshguard.core.time.Clock;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads the complete lines of an audit log with a sequence number above a cursor, in chain order,
 * from the segment files in one directory, following the writer as it appends and rotates.
 *
 * <p>Design. The tailer keeps one open segment and the byte offset of the first line it has not
 * consumed. {@link #poll} reads from that offset in chunks, consumes every line that ends in
 * {@code \n} and leaves a trailing partial line for a later poll: the writer group-commits whole
 * lines, but a reader can see a write half done, and a crash can leave a partial line that the next
 * {@code AuditLog.open} cuts off. Offsets only move past consumed lines, so a failed read loses
 * nothing. At the end of the open segment the tailer lists the directory; when a later segment
 * exists, the writer has already closed this one (it closes a segment before it creates the
 * next), so the tailer reads this one to its end once more and moves on. A partial line left in a
 * segment the writer has left cannot be completed any more: that is damage, reported as a
 * {@link SegmentFormatException}, never skipped.
 *
 * <p>Only {@code seq} and {@code id} are taken from a line, with a streaming parse that also
 * checks the line is one well-formed JSON object (a sink embeds lines into a JSON array verbatim).
 * Sequence numbers must rise from line to line; gaps are the verifier's business.
 *
 * <p>Threads: one reader thread calls {@link #poll}, {@link #await} and {@link #close};
 * {@link #wakeUp} and {@link #lastSeqOnDisk} may be called from any thread.
 */
public final class SegmentTailer implements Closeable {
  /** Lines longer than this (the newline included) are reported as damage rather than buffered. */
  public static final int MAX_LINE_BYTES = 1 << 20;
  private static final int READ_CHUNK = 64 * 1024;
  private static final JsonFactory JSON = new JsonFactory();

  private final Path directory;
  private final long pollIntervalNanos;
  private final Clock clock;
  private final Pacer pacer;

  // Reader-thread state.
  private SegmentFiles.Segment current;
  private FileChannel channel;
  private long offset; // first byte of the current segment not yet consumed
  private long position; // seq of the last line returned, or the starting cursor
  private long lastSeen; // seq of the last line consumed (returned or skipped); 0 before any
  private ByteBuffer buffer = ByteBuffer.allocate(READ_CHUNK);
  private boolean closed;

  private SegmentTailer(Path directory, long position, Duration pollInterval, Clock clock, Pacer pacer) {
    this.directory = Objects.requireNonNull(directory, "directory");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.pacer = Objects.requireNonNull(pacer, "pacer");
    Objects.requireNonNull(pollInterval, "pollInterval");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, found " + pollInterval);
    }
    if (position < 0) {
      throw new IllegalArgumentException("seq must not be negative, found " + position);
    }
    this.pollIntervalNanos = pollInterval.toNanos();
    this.position = position;
  }

  /**
   * A tailer returning the lines with a sequence number above {@code seq} (0: the whole log). The
   * directory need not exist yet. Nothing is read until the first poll.
   *
   * @param pollInterval how often {@link #await} looks for new data
   */
  public static SegmentTailer after(Path directory, long seq, Duration pollInterval, Clock clock) {
    return after(directory, seq, pollInterval, clock, new Pacer());
  }

  /**
   * A tailer returning only the lines completed after this call: it starts behind the last
   * complete line now on disk.
   */
  public static SegmentTailer fromEnd(Path directory, Duration pollInterval, Clock clock) throws IOException {
    return fromEnd(directory, pollInterval, clock, new Pacer());
  }

  static SegmentTailer after(Path directory, long seq, Duration pollInterval, Clock clock, Pacer pacer) {
    return new SegmentTailer(directory, seq, pollInterval, clock, pacer);
  }

  static SegmentTailer fromEnd(Path directory, Duration pollInterval, Clock clock, Pacer pacer) throws IOException {
    SegmentTailer tailer = new SegmentTailer(directory, 0, pollInterval, clock, pacer);
    List<SegmentFiles.Segment> segments = SegmentFiles.list(directory);
    if (segments.isEmpty()) {
      return tailer; // everything that appears is new
    }
    SegmentFiles.Segment last = segments.get(segments.size() - 1);
    for (int i = segments.size() - 1; i >= 0; i--) {
      Tail tail = lastCompleteLine(segments.get(i).path());
      if (tail != null) {
        tailer.position = tail.seq();
        tailer.lastSeen = tail.seq();
        // Segments after the one holding the last complete line hold none, so the newest one is read from its start.
        tailer.open(last, i == segments.size() - 1 ? tail.end() : 0);
        return tailer;
      }
    }
    tailer.position = last.firstSeq() - 1;
    tailer.open(last, 0);
    return tailer;
  }

  /**
   * Returns the complete lines available now, at most {@code maxLines}, in chain order; an empty
   * list when there is nothing new. Never waits.
   *
   * @throws SegmentFormatException at damage that must not be shipped; lines before it are returned
   *     first, and the next poll meets the damage again
   */
  public List<LogLine> poll(int maxLines) throws IOException {
    if (maxLines < 1) {
      throw new IllegalArgumentException("maxLines must be at least 1, found " + maxLines);
    }
    if (closed) {
      throw new IllegalStateException("the tailer is closed");
    }
    List<LogLine> lines = new ArrayList<>(Math.min(maxLines, 256));
    try {
      while (lines.size() < maxLines) {
        if (channel == null && !openStartSegment()) {
          break;
        }
        readLines(lines, maxLines);
        if (lines.size() >= maxLines) {
          break;
        }
        SegmentFiles.Segment next = nextSegment();
        if (next == null) {
          break;
        }
        // The writer created the next segment after closing this one: this one is complete now.
        readLines(lines, maxLines);
        if (lines.size() >= maxLines) {
          break;
        }
        long size = channel.size();
        if (size > offset) {
          throw new SegmentFormatException(current.path(), offset, "a partial line of " + (size - offset)
              + " bytes in a segment the writer has left for " + next.path().getFileName());
        }
        switchTo(next);
      }
    } catch (IOException e) {
      if (lines.isEmpty()) {
        throw e;
      }
      // Hand out what was read before the failure; offsets stop before it, so the next poll meets it again.
    }
    return lines;
  }

  /**
   * Like {@link #poll}, but when nothing is available looks again every poll interval until
   * something is, {@code maxWait} has passed on the clock, or {@link #wakeUp} is called.
   *
   * @return the lines found; empty when the wait ended without any
   */
  public List<LogLine> await(int maxLines, Duration maxWait) throws IOException, InterruptedException {
    long deadline = clock.nanoTime() + maxWait.toNanos();
    while (true) {
      List<LogLine> lines = poll(maxLines);
      if (!lines.isEmpty()) {
        return lines;
      }
      long remaining = deadline - clock.nanoTime();
      if (remaining <= 0) {
        return lines;
      }
      if (pacer.pause(Math.min(pollIntervalNanos, remaining))) {
        return poll(maxLines);
      }
    }
  }

  /**
   * Ends a wait in {@link #await} now: the writer can call it after each commit so new lines are
   * seen without waiting for the poll interval, and a sink calls it to stop.
   */
  public void wakeUp() {
    pacer.wake();
  }

  /** The seq of the last line returned, or the starting cursor when none has been. */
  public long position() {
    return position;
  }

  /**
   * The seq of the last complete line on disk now, read from the end of the newest segment; 0 for
   * an empty log. Cheap: it reads one line, not the log.
   */
  public long lastSeqOnDisk() throws IOException {
    List<SegmentFiles.Segment> segments = SegmentFiles.list(directory);
    for (int i = segments.size() - 1; i >= 0; i--) {
      Tail tail = lastCompleteLine(segments.get(i).path());
      if (tail != null) {
        return tail.seq();
      }
    }
    return segments.isEmpty() ? 0 : segments.get(0).firstSeq() - 1;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    if (channel != null) {
      channel.close();
      channel = null;
    }
  }

  private boolean openStartSegment() throws IOException {
    List<SegmentFiles.Segment> segments = SegmentFiles.list(directory);
    if (segments.isEmpty()) {
      return false;
    }
    // The newest segment that can hold position + 1; lines at or below the position are skipped.
    SegmentFiles.Segment start = segments.get(0);
    for (SegmentFiles.Segment segment : segments) {
      if (segment.firstSeq() <= position + 1) {
        start = segment;
      }
    }
    open(start, 0);
    return true;
  }

  private SegmentFiles.Segment nextSegment() throws IOException {
    for (SegmentFiles.Segment segment : SegmentFiles.list(directory)) {
      if (segment.firstSeq() > current.firstSeq()) {
        return segment;
      }
    }
    return null;
  }

  private void open(SegmentFiles.Segment segment, long at) throws IOException {
    channel = FileChannel.open(segment.path(), StandardOpenOption.READ);
    current = segment;
    offset = at;
  }

  private void switchTo(SegmentFiles.Segment next) throws IOException {
    FileChannel opened = FileChannel.open(next.path(), StandardOpenOption.READ);
    FileChannel previous = channel;
    channel = opened;
    current = next;
    offset = 0;
    previous.close();
  }

  /** Consumes complete lines of the current segment from {@link #offset} until its end or {@code max} lines. */
  private void readLines(List<LogLine> lines, int max) throws IOException {
    while (lines.size() < max) {
      buffer.clear();
      int read = channel.read(buffer, offset);
      if (read <= 0) {
        return;
      }
      byte[] bytes = buffer.array();
      int limit = buffer.position();
      int lineStart = 0;
      for (int i = 0; i < limit && lines.size() < max; i++) {
        if (bytes[i] == '\n') {
          consume(bytes, lineStart, i + 1, lines);
          lineStart = i + 1;
        }
      }
      if (lineStart == 0) {
        if (limit < buffer.capacity()) {
          return; // a partial line at the end: wait for the writer to finish it
        }
        if (buffer.capacity() > MAX_LINE_BYTES) {
          throw new SegmentFormatException(current.path(), offset,
              "a line longer than " + MAX_LINE_BYTES + " bytes");
        }
        buffer = ByteBuffer.allocate(Math.min(buffer.capacity() * 2, MAX_LINE_BYTES + 1));
      }
    }
  }

  private void consume(byte[] bytes, int from, int to, List<LogLine> lines) throws IOException {
    Head head = parseHead(bytes, from, to - from, current.path(), offset);
    if (head.seq() <= lastSeen) {
      throw new SegmentFormatException(current.path(), offset,
          "seq " + head.seq() + " follows seq " + lastSeen + ": the sequence goes back");
    }
    lastSeen = head.seq();
    offset += to - from;
    if (head.seq() > position) {
      position = head.seq();
      lines.add(new LogLine(head.seq(), head.id(), Arrays.copyOfRange(bytes, from, to)));
    }
  }

  private record Head(long seq, String id) {}

  /** Parses {@code seq} and {@code id} of the line at {@code bytes[from, from + length)} (newline included). */
  private static Head parseHead(byte[] bytes, int from, int length, Path segment, long fileOffset)
      throws SegmentFormatException {
    long seq = -1;
    String id = null;
    try (JsonParser parser = JSON.createParser(bytes, from, length - 1)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new SegmentFormatException(segment, fileOffset, "not a JSON object");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("seq".equals(name) && value == JsonToken.VALUE_NUMBER_INT) {
          seq = parser.getLongValue();
        } else if ("id".equals(name) && value == JsonToken.VALUE_STRING) {
          id = parser.getText();
        } else {
          parser.skipChildren();
        }
      }
      if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
        throw new SegmentFormatException(segment, fileOffset, "not a single JSON object");
      }
    } catch (SegmentFormatException e) {
      throw e;
    } catch (IOException e) {
      throw new SegmentFormatException(segment, fileOffset, "not valid JSON: " + e.getMessage());
    }
    if (seq < 1 || id == null) {
      throw new SegmentFormatException(segment, fileOffset, "not an audit event (no positive seq or no id)");
    }
    return new Head(seq, id);
  }

  /** The last complete line of a segment: where it ends (after its newline) and its seq. */
  private record Tail(long end, long seq) {}

  private static Tail lastCompleteLine(Path segment) throws IOException {
    try (FileChannel in = FileChannel.open(segment, StandardOpenOption.READ)) {
      long size = in.size();
      long lastNewline = lastNewlineBefore(in, size, segment);
      if (lastNewline < 0) {
        return null;
      }
      long start = lastNewlineBefore(in, lastNewline, segment) + 1;
      int length = (int) (lastNewline + 1 - start);
      ByteBuffer line = ByteBuffer.allocate(length);
      while (line.hasRemaining()) {
        if (in.read(line, start + line.position()) < 0) {
          throw new IOException(segment + " shrank while it was read");
        }
      }
      return new Tail(lastNewline + 1, parseHead(line.array(), 0, length, segment, start).seq());
    }
  }

  /** The offset of the last {@code \n} before {@code end}, or -1; looks back one maximal line at most. */
  private static long lastNewlineBefore(FileChannel in, long end, Path segment) throws IOException {
    ByteBuffer chunk = ByteBuffer.allocate(8192);
    long floor = Math.max(0, end - MAX_LINE_BYTES - 1);
    long to = end;
    while (to > floor) {
      long from = Math.max(floor, to - chunk.capacity());
      chunk.clear().limit((int) (to - from));
      while (chunk.hasRemaining()) {
        if (in.read(chunk, from + chunk.position()) < 0) {
          throw new IOException(segment + " shrank while it was read");
        }
      }
      byte[] bytes = chunk.array();
      for (int i = (int) (to - from) - 1; i >= 0; i--) {
        if (bytes[i] == '\n') {
          return from + i;
        }
      }
      to = from;
    }
    if (floor > 0) {
      throw new SegmentFormatException(segment, floor, "no newline in the last " + MAX_LINE_BYTES + " bytes");
    }
    return -1;
  }
}

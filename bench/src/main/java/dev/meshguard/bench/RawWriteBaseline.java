package dev.meshguard.bench;

import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The baseline of the audit-write suite: the bytes an audit run wrote, read back and written again
 * to a new file with plain sequential {@link FileChannel} writes, one write and one fsync
 * ({@code force(false)}, as the audit writer does) per batch of lines. It is what the log would
 * cost if encoding, hash-chaining and the hand-off between threads were free: the disk's share.
 */
final class RawWriteBaseline {

  /**
   * @param lines lines written
   * @param bytes bytes written
   * @param batches writes, each followed by one fsync
   * @param nanos from the first write to the last fsync
   */
  record Result(long lines, long bytes, long batches, long nanos) {
    double eventsPerSecond() {
      return lines * 1e9 / nanos;
    }

    double bytesPerSecond() {
      return bytes * 1e9 / nanos;
    }
  }

  private RawWriteBaseline() {}

  /** The segment files of an audit log's directory ({@code audit-*.jsonl}), concatenated in name (= chain) order. */
  static byte[] readLog(Path directory) throws IOException {
    List<Path> segments = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "audit-*.jsonl")) {
      stream.forEach(segments::add);
    }
    segments.sort(null);
    long total = 0;
    for (Path segment : segments) {
      total += Files.size(segment);
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("the log in " + directory + " is too large to hold in memory: " + total);
    }
    byte[] all = new byte[(int) total];
    int at = 0;
    for (Path segment : segments) {
      byte[] bytes = Files.readAllBytes(segment);
      System.arraycopy(bytes, 0, all, at, bytes.length);
      at += bytes.length;
    }
    return all;
  }

  /**
   * Writes {@code log} (complete lines) to the new file {@code file} in {@code batches} batches of
   * whole lines, as equal in size as lines allow, each written and then fsynced.
   */
  static Result run(byte[] log, long batches, Path file, Clock clock) throws IOException {
    Objects.requireNonNull(log, "log");
    int[] lineEnds = lineEnds(log);
    int lines = lineEnds.length;
    if (batches < 1 || batches > lines) {
      throw new IllegalArgumentException("batches must be between 1 and the " + lines + " lines, found " + batches);
    }
    // Cut points first, so that the timed loop only writes and syncs.
    int[] cuts = new int[(int) batches + 1];
    for (int b = 1; b <= batches; b++) {
      cuts[b] = lineEnds[(int) (b * lines / batches) - 1];
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      long start = clock.nanoTime();
      for (int b = 0; b < batches; b++) {
        ByteBuffer batch = ByteBuffer.wrap(log, cuts[b], cuts[b + 1] - cuts[b]);
        while (batch.hasRemaining()) {
          channel.write(batch);
        }
        channel.force(false);
      }
      long nanos = clock.nanoTime() - start;
      return new Result(lines, log.length, batches, nanos);
    }
  }

  /** The offset just past each line's {@code \n}. */
  private static int[] lineEnds(byte[] log) {
    int count = 0;
    for (byte b : log) {
      if (b == '\n') {
        count++;
      }
    }
    if (count == 0 || log[log.length - 1] != '\n') {
      throw new IllegalArgumentException("the log must be whole lines, each ending in \\n");
    }
    int[] ends = new int[count];
    int line = 0;
    for (int i = 0; i < log.length; i++) {
      if (log[i] == '\n') {
        ends[line++] = i + 1;
      }
    }
    return ends;
  }
}

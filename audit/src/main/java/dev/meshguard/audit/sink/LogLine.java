package dev.meshguard.audit.sink;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One complete line of the audit log as it is on disk: the event's JSON object followed by
 * {@code \n}, plus the two members a sink tracks its position by.
 *
 * <p>Immutable: the bytes are never handed out, only written to a stream, so a line can be shared
 * between threads and retried without copying.
 */
public final class LogLine {
  private final long seq;
  private final String id;
  private final byte[] bytes; // the JSON object and its trailing '\n'

  LogLine(long seq, String id, byte[] bytes) {
    this.seq = seq;
    this.id = Objects.requireNonNull(id, "id");
    this.bytes = Objects.requireNonNull(bytes, "bytes");
    if (bytes.length < 3 || bytes[bytes.length - 1] != '\n') {
      throw new IllegalArgumentException("a log line must be a JSON object ending in a newline");
    }
  }

  /** The event's position in the chain ({@code seq}). */
  public long seq() {
    return seq;
  }

  /** The event's id ({@code id}, a UUIDv7): what a collector deduplicates by. */
  public String id() {
    return id;
  }

  /** Bytes of the JSON object, without the newline. */
  public int jsonLength() {
    return bytes.length - 1;
  }

  /** Writes the JSON object, without the newline (an element of a JSON array). */
  public void writeJsonTo(ByteArrayOutputStream out) {
    out.write(bytes, 0, bytes.length - 1);
  }

  /**
   * Writes the whole line, newline included, with a single {@code write} call so that lines stay
   * whole on a stream other threads also write to ({@link PrintStream} writes are synchronized).
   */
  public void writeLineTo(OutputStream out) throws java.io.IOException {
    out.write(bytes, 0, bytes.length);
  }

  /** The line without its newline, decoded as UTF-8 (for tests and diagnostics). */
  public String json() {
    return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LogLine that && seq == that.seq && id.equals(that.id) && Arrays.equals(bytes, that.bytes);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq) * 31 + id.hashCode();
  }

  @Override
  public String toString() {
    return "LogLine[seq=" + seq + ", id=" + id + ", " + bytes.length + " bytes]";
  }
}

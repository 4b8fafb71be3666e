package dev.meshguard.audit.sink;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A segment holds something a sink must not ship: a line that is not an audit event, a sequence
 * that goes back, or a partial line in a segment the writer has already left. Sinks stop at such a
 * place rather than skip it, log it, count it and try again at the next poll; {@code meshguard
 * audit verify} locates the damage.
 */
public final class SegmentFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path segment;
  private final long byteOffset;

  SegmentFormatException(Path segment, long byteOffset, String detail) {
    super(segment + " at byte " + byteOffset + ": " + detail);
    this.segment = Objects.requireNonNull(segment, "segment");
    this.byteOffset = byteOffset;
  }

  /** The segment file. */
  public Path segment() {
    return segment;
  }

  /** Where the offending line starts in that file. */
  public long byteOffset() {
    return byteOffset;
  }
}

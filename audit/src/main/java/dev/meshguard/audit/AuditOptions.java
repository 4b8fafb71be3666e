package dev.meshguard.audit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one audit log.
 *
 * @param directory where segment files live (default {@value #DEFAULT_DIRECTORY})
 * @param queueCapacity events the hand-off queue holds before producers wait or drop
 * @param maxWaitWhenFull how long a durable or buffered producer waits for room before REJECTED
 * @param maxSegmentBytes a segment is rotated once it reaches this size
 * @param maxSegmentAge a segment is rotated once it is this old
 * @param maxBatch events written (and fsynced) together at most
 */
public record AuditOptions(
    Path directory, int queueCapacity, Duration maxWaitWhenFull, long maxSegmentBytes, Duration maxSegmentAge,
    int maxBatch) {
  public static final String DEFAULT_DIRECTORY = "./meshguard-data/audit";
  public static final int DEFAULT_QUEUE_CAPACITY = 65_536;
  public static final Duration DEFAULT_MAX_WAIT_WHEN_FULL = Duration.ofMillis(50);
  public static final long DEFAULT_MAX_SEGMENT_BYTES = 64L * 1024 * 1024;
  public static final Duration DEFAULT_MAX_SEGMENT_AGE = Duration.ofHours(1);
  public static final int DEFAULT_MAX_BATCH = 4096;

  public AuditOptions {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(maxWaitWhenFull, "maxWaitWhenFull");
    Objects.requireNonNull(maxSegmentAge, "maxSegmentAge");
    if (queueCapacity < 1) {
      throw new IllegalArgumentException("queueCapacity must be at least 1, found " + queueCapacity);
    }
    if (maxSegmentBytes < 1024) {
      throw new IllegalArgumentException("maxSegmentBytes must be at least 1024, found " + maxSegmentBytes);
    }
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be at least 1, found " + maxBatch);
    }
    if (maxWaitWhenFull.isNegative() || maxSegmentAge.isNegative() || maxSegmentAge.isZero()) {
      throw new IllegalArgumentException("durations must be positive");
    }
  }

  /** Defaults, writing into {@code directory}. */
  public static AuditOptions in(Path directory) {
    return new AuditOptions(directory, DEFAULT_QUEUE_CAPACITY, DEFAULT_MAX_WAIT_WHEN_FULL, DEFAULT_MAX_SEGMENT_BYTES,
        DEFAULT_MAX_SEGMENT_AGE, DEFAULT_MAX_BATCH);
  }

  public AuditOptions withMaxSegmentBytes(long bytes) {
    return new AuditOptions(directory, queueCapacity, maxWaitWhenFull, bytes, maxSegmentAge, maxBatch);
  }

  public AuditOptions withQueueCapacity(int capacity) {
    return new AuditOptions(directory, capacity, maxWaitWhenFull, maxSegmentBytes, maxSegmentAge, maxBatch);
  }
}

package dev.meshguard.audit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one audit log; build with {@link #in(Path)} or {@link #builder(Path)}.
 *
 * @param directory where segment files live (default {@value #DEFAULT_DIRECTORY})
 * @param queueCapacity events the hand-off queue holds before producers wait or drop
 * @param maxWaitWhenFull how long a durable or buffered producer waits for room before REJECTED
 * @param maxSegmentBytes a segment is rotated once it reaches this size
 * @param maxSegmentAge a segment is rotated once it is this old
 * @param maxBatch events written (and fsynced) together at most
 * @param checkpointEveryEvents a signed checkpoint is written after this many events
 * @param checkpointInterval ... or after this long with events unsigned
 * @param checkpointKey the ECDSA P-256 PKCS#8 key file; created (0600) at first start if absent
 * @param masking what is never written
 */
public record AuditOptions(
    Path directory, int queueCapacity, Duration maxWaitWhenFull, long maxSegmentBytes, Duration maxSegmentAge,
    int maxBatch, long checkpointEveryEvents, Duration checkpointInterval, Path checkpointKey, Masking masking) {
  public static final String DEFAULT_DIRECTORY = "./meshguard-data/audit";
  public static final int DEFAULT_QUEUE_CAPACITY = 65_536;
  public static final Duration DEFAULT_MAX_WAIT_WHEN_FULL = Duration.ofMillis(50);
  public static final long DEFAULT_MAX_SEGMENT_BYTES = 64L * 1024 * 1024;
  public static final Duration DEFAULT_MAX_SEGMENT_AGE = Duration.ofHours(1);
  public static final int DEFAULT_MAX_BATCH = 4096;
  public static final long DEFAULT_CHECKPOINT_EVERY_EVENTS = 10_000;
  public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(60);
  public static final String DEFAULT_CHECKPOINT_KEY_FILE = "checkpoint-key.pem";

  public AuditOptions {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(maxWaitWhenFull, "maxWaitWhenFull");
    Objects.requireNonNull(maxSegmentAge, "maxSegmentAge");
    Objects.requireNonNull(checkpointInterval, "checkpointInterval");
    Objects.requireNonNull(masking, "masking");
    if (checkpointKey == null) {
      checkpointKey = directory.resolve(DEFAULT_CHECKPOINT_KEY_FILE);
    }
    requireAtLeast("queueCapacity", queueCapacity, 1);
    requireAtLeast("maxSegmentBytes", maxSegmentBytes, 1024);
    requireAtLeast("maxBatch", maxBatch, 1);
    requireAtLeast("checkpointEveryEvents", checkpointEveryEvents, 1);
    requirePositive("maxSegmentAge", maxSegmentAge);
    requirePositive("checkpointInterval", checkpointInterval);
    if (maxWaitWhenFull.isNegative()) {
      throw new IllegalArgumentException("maxWaitWhenFull must not be negative, found " + maxWaitWhenFull);
    }
  }

  /** Defaults, writing into {@code directory}. */
  public static AuditOptions in(Path directory) {
    return builder(directory).build();
  }

  public static Builder builder(Path directory) {
    return new Builder(directory);
  }

  public Builder toBuilder() {
    return new Builder(directory).queueCapacity(queueCapacity).maxWaitWhenFull(maxWaitWhenFull)
        .maxSegmentBytes(maxSegmentBytes).maxSegmentAge(maxSegmentAge).maxBatch(maxBatch)
        .checkpointEveryEvents(checkpointEveryEvents).checkpointInterval(checkpointInterval)
        .checkpointKey(checkpointKey).masking(masking);
  }

  public AuditOptions withMaxSegmentBytes(long bytes) {
    return toBuilder().maxSegmentBytes(bytes).build();
  }

  public AuditOptions withQueueCapacity(int capacity) {
    return toBuilder().queueCapacity(capacity).build();
  }

  private static void requireAtLeast(String name, long value, long min) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be at least " + min + ", found " + value);
    }
  }

  private static void requirePositive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, found " + value);
    }
  }

  /** A validating builder; {@link #build()} checks every value. */
  public static final class Builder {
    private final Path directory;
    private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
    private Duration maxWaitWhenFull = DEFAULT_MAX_WAIT_WHEN_FULL;
    private long maxSegmentBytes = DEFAULT_MAX_SEGMENT_BYTES;
    private Duration maxSegmentAge = DEFAULT_MAX_SEGMENT_AGE;
    private int maxBatch = DEFAULT_MAX_BATCH;
    private long checkpointEveryEvents = DEFAULT_CHECKPOINT_EVERY_EVENTS;
    private Duration checkpointInterval = DEFAULT_CHECKPOINT_INTERVAL;
    private Path checkpointKey;
    private Masking masking = Masking.DEFAULT;

    private Builder(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
    }

    public Builder queueCapacity(int value) {
      queueCapacity = value;
      return this;
    }

    public Builder maxWaitWhenFull(Duration value) {
      maxWaitWhenFull = value;
      return this;
    }

    public Builder maxSegmentBytes(long value) {
      maxSegmentBytes = value;
      return this;
    }

    public Builder maxSegmentAge(Duration value) {
      maxSegmentAge = value;
      return this;
    }

    public Builder maxBatch(int value) {
      maxBatch = value;
      return this;
    }

    public Builder checkpointEveryEvents(long value) {
      checkpointEveryEvents = value;
      return this;
    }

    public Builder checkpointInterval(Duration value) {
      checkpointInterval = value;
      return this;
    }

    /** The checkpoint key file; null means {@code <directory>/checkpoint-key.pem}. */
    public Builder checkpointKey(Path value) {
      checkpointKey = value;
      return this;
    }

    public Builder masking(Masking value) {
      masking = value;
      return this;
    }

    public AuditOptions build() {
      return new AuditOptions(directory, queueCapacity, maxWaitWhenFull, maxSegmentBytes, maxSegmentAge, maxBatch,
          checkpointEveryEvents, checkpointInterval, checkpointKey, masking);
    }
  }
}

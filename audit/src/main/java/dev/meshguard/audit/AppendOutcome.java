package dev.meshguard.audit;

/** What became of one {@link AuditLog#append} call. Never silent: every outcome is counted. */
public enum AppendOutcome {
  /** On disk and fsynced ({@link Durability#DURABLE}). */
  WRITTEN,
  /** Accepted into the queue; the writer will write it ({@link Durability#BUFFERED}, {@link Durability#BEST_EFFORT}). */
  QUEUED,
  /** Dropped because the queue was full ({@link Durability#BEST_EFFORT} only); counted. */
  DROPPED,
  /**
   * Not accepted: the queue stayed full past the configured bound, the write failed, or the log is
   * closed. The caller applies its configured failure mode (e.g. deny the request).
   */
  REJECTED
}

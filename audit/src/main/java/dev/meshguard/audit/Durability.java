package dev.meshguard.audit;

/** How long a producer waits for its event, chosen per component in config. */
public enum Durability {
  /** The producer waits until the fsync covering its event has completed (CA issuances, quota changes). */
  DURABLE,
  /**
   * The producer hands the event over and returns at once; a crash can lose the events of the last
   * group-commit interval. The default for authorization and rate-limit decisions.
   */
  BUFFERED,
  /** A full queue drops the event and counts it; the count appears in metrics and the next checkpoint. */
  BEST_EFFORT
}

package dev.meshguard.ratelimit;

/**
 * A {@link CounterStore} could not answer (unreachable, timed out, full). Unchecked because the
 * engine, its only caller, turns it into the configured failure mode and never lets it out.
 */
public class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}

package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * The names of the stored counters of a {@link Hit}, the same in every store:
 *
 * <pre>
 *   fixed window    PREFIX{ID}f:WINDOW:START      a count (Redis: a string, INCRBY)
 *   sliding window  PREFIX{ID}s:WINDOW:START      a count and a refused flag (Redis: a hash n, d),
 *                                                 read with the window before it
 *   token bucket    PREFIX{ID}b:LIMIT:WINDOW      the TAT and a refused flag (Redis: a hash t, f, d)
 * </pre>
 *
 * where ID is the {@link CounterKey} id, WINDOW the window in seconds and START its start in Unix
 * seconds. The algorithm letter keeps counters of one descriptor under different algorithms (after
 * a reload) apart, as Redis types differ; a bucket's name carries its rate because its stored
 * fraction is in units of 1/rate.
 *
 * <p>{@code {ID}} is the Redis Cluster hash tag: every counter of one descriptor lives in one
 * slot, so a sliding window's two keys can be used by one script. If the id itself contains a
 * {@code }}, the tag ends there; it is still the same for every key of that descriptor. The ids
 * are length-prefixed, so the names are unambiguous.
 */
final class StoreKeys {

  private final String prefix;

  /** @param prefix put before every name; must not contain a brace */
  StoreKeys(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
      throw new IllegalArgumentException("key prefix must not contain '{' or '}': " + prefix);
    }
    this.prefix = prefix;
  }

  String fixed(CounterKey counter, long windowSeconds, long startSeconds) {
    return base(counter).append("f:").append(windowSeconds).append(':').append(startSeconds).toString();
  }

  String sliding(CounterKey counter, long windowSeconds, long startSeconds) {
    return base(counter).append("s:").append(windowSeconds).append(':').append(startSeconds).toString();
  }

  String bucket(CounterKey counter, long limit, long windowSeconds) {
    return base(counter).append("b:").append(limit).append(':').append(windowSeconds).toString();
  }

  private StringBuilder base(CounterKey counter) {
    return new StringBuilder(prefix.length() + counter.id().length() + 24)
        .append(prefix).append('{').append(counter.id()).append('}');
  }
}

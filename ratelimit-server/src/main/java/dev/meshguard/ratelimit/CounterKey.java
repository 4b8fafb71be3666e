package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;

/**
 * A fixed-window counter: the descriptor's identity and the window it counts.
 *
 * @param key an unambiguous encoding of the domain, the request's entries and the window start
 *     (see {@link #of})
 * @param windowStartSeconds the window's start, Unix seconds, aligned to a multiple of its length
 * @param windowSeconds the window's length; the counter can be forgotten at its end
 */
public record CounterKey(String key, long windowStartSeconds, long windowSeconds) {

  public CounterKey {
    Objects.requireNonNull(key, "key");
    if (windowSeconds <= 0) {
      throw new IllegalArgumentException("windowSeconds must be positive: " + windowSeconds);
    }
  }

  /** Unix second at which the window ends and the counter expires. */
  public long windowEndSeconds() {
    return windowStartSeconds + windowSeconds;
  }

  /**
   * The key of a window for the request's own entries (so key-only and wildcard matches count
   * each distinct value separately, as upstream). Every string is written as its length, a
   * colon and its text, so no two different (domain, entries) lists share a key: upstream's
   * {@code domain_key_value_} joining makes key {@code a_b} + value {@code c} collide with key
   * {@code a} + value {@code b_c}; this cannot. The window start and length end the key.
   */
  public static CounterKey of(String domain, List<Descriptor.Entry> entries, long windowStartSeconds,
      long windowSeconds) {
    StringBuilder sb = new StringBuilder(32 + 16 * entries.size());
    append(sb, domain);
    for (Descriptor.Entry entry : entries) {
      append(sb, entry.key());
      append(sb, entry.value());
    }
    sb.append(windowStartSeconds).append('/').append(windowSeconds);
    return new CounterKey(sb.toString(), windowStartSeconds, windowSeconds);
  }

  private static void append(StringBuilder sb, String text) {
    sb.append(text.length()).append(':').append(text);
  }
}

package dev.meshguard.ratelimit;

import java.util.List;
import java.util.Objects;

/**
 * The identity of a counter: the request's domain and entries. Windows, algorithms and rates are
 * added by the store ({@link StoreKeys}), so a counter keeps its identity across windows and
 * reloads.
 *
 * @param id an unambiguous encoding of the domain and the entries (see {@link #of})
 */
public record CounterKey(String id) {

  public CounterKey {
    Objects.requireNonNull(id, "id");
  }

  /**
   * The identity for the request's own entries (so key-only and wildcard matches count each
   * distinct value separately, as upstream). Every string is written as its length, a colon and
   * its text, so no two different (domain, entries) lists share an id: upstream's
   * {@code domain_key_value_} joining makes key {@code a_b} + value {@code c} collide with key
   * {@code a} + value {@code b_c}; this cannot.
   */
  public static CounterKey of(String domain, List<Descriptor.Entry> entries) {
    StringBuilder sb = new StringBuilder(16 + 16 * entries.size());
    append(sb, domain);
    for (Descriptor.Entry entry : entries) {
      append(sb, entry.key());
      append(sb, entry.value());
    }
    return new CounterKey(sb.toString());
  }

  private static void append(StringBuilder sb, String text) {
    sb.append(text.length()).append(':').append(text);
  }
}

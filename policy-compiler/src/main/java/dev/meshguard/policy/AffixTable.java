package dev.meshguard.policy;

import java.util.Map;
import java.util.TreeSet;

/**
 * Prefixes (or suffixes) to rule lists: one pass along a request value finds every stored prefix
 * of it. The table is hashed by content and knows the distinct key lengths; the pass computes the
 * value's prefix hashes incrementally (Horner's rule, as {@link String#hashCode}) and probes only
 * at those lengths.
 *
 * <p>Why not a character trie: a trie walk is a chain of dependent memory loads, one node per
 * character, which at thousands of keys means a cache miss per character. Here the probes are
 * independent of each other (the CPU overlaps their misses), there is one per distinct key
 * length rather than one per character, and a probe that finds nothing usually touches one int.
 * Written by hand for the region lookups and the allocation-free pass.
 */
final class AffixTable {

  private final int[] lengths;
  private final int[] hashes;
  private final String[] keys;
  private final int[][] values;
  private final int mask;
  private final boolean suffix;
  private final boolean ignoreCase;

  /**
   * @param entries prefixes (or suffixes) to rules, non-empty; lower-case when {@code ignoreCase}
   */
  AffixTable(Map<String, int[]> entries, boolean suffix, boolean ignoreCase) {
    this.suffix = suffix;
    this.ignoreCase = ignoreCase;
    int capacity = Integer.highestOneBit(Math.max(2, entries.size() * 2) - 1) << 1;
    this.hashes = new int[capacity];
    this.keys = new String[capacity];
    this.values = new int[capacity][];
    this.mask = capacity - 1;
    TreeSet<Integer> distinct = new TreeSet<>();
    for (Map.Entry<String, int[]> e : entries.entrySet()) {
      String k = e.getKey();
      if (k.isEmpty()) {
        throw new IllegalArgumentException("empty prefix or suffix");
      }
      distinct.add(k.length());
      int h = keyHash(k);
      int i = StringTable.slot(h) & mask;
      while (keys[i] != null) {
        i = (i + 1) & mask;
      }
      hashes[i] = h;
      keys[i] = k;
      values[i] = e.getValue();
    }
    this.lengths = distinct.stream().mapToInt(Integer::intValue).toArray();
  }

  private int keyHash(String k) {
    int h = 0;
    int n = k.length();
    for (int i = 0; i < n; i++) {
      h = 31 * h + k.charAt(suffix ? n - 1 - i : i);
    }
    return h;
  }

  /** Adds the rules of every stored prefix (suffix) of {@code s[from, to)} to {@code out}. */
  void collect(String s, int from, int to, Candidates out) {
    int n = to - from;
    int next = 0;
    int h = 0;
    int[] lengths = this.lengths;
    for (int i = 1; next < lengths.length && lengths[next] <= n; i++) {
      char c = suffix ? s.charAt(to - i) : s.charAt(from + i - 1);
      h = 31 * h + (ignoreCase ? StrMatcher.lowerAscii(c) : c);
      if (i == lengths[next]) {
        probe(h, s, suffix ? to - i : from, i, out);
        next++;
      }
    }
  }

  private void probe(int h, String s, int start, int length, Candidates out) {
    int i = StringTable.slot(h) & mask;
    String k;
    while ((k = keys[i]) != null) {
      if (hashes[i] == h && k.length() == length
          && StrMatcher.regionEquals(s, start, k, 0, length, ignoreCase)) {
        out.addAll(values[i]);
        return;
      }
      i = (i + 1) & mask;
    }
  }
}

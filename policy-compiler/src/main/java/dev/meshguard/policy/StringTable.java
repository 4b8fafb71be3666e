package dev.meshguard.policy;

import java.util.Map;

/**
 * An immutable open-addressing hash table from strings to rule lists whose lookups take a region
 * of a string ({@code path[0, end)} without its query, one token of a claim) without copying it,
 * optionally folding ASCII case. Each slot keeps its key's hash, so a probe that misses rarely
 * touches the key itself. Written by hand because {@link java.util.HashMap} needs a key object,
 * and building one per lookup is the allocation this avoids.
 */
final class StringTable {

  private final int[] hashes;
  private final String[] keys;
  private final int[][] values;
  private final int mask;
  private final boolean ignoreCase;

  /** @param entries keys already lower-case when {@code ignoreCase} */
  StringTable(Map<String, int[]> entries, boolean ignoreCase) {
    int capacity = Integer.highestOneBit(Math.max(2, entries.size() * 2) - 1) << 1;
    this.hashes = new int[capacity];
    this.keys = new String[capacity];
    this.values = new int[capacity][];
    this.mask = capacity - 1;
    this.ignoreCase = ignoreCase;
    for (Map.Entry<String, int[]> e : entries.entrySet()) {
      String k = e.getKey();
      int h = hash(k, 0, k.length(), false);
      int i = slot(h) & mask;
      while (keys[i] != null) {
        i = (i + 1) & mask;
      }
      hashes[i] = h;
      keys[i] = k;
      values[i] = e.getValue();
    }
  }

  /** The rules stored under {@code s[from, to)}, or null. */
  int[] get(String s, int from, int to) {
    int h = hash(s, from, to, ignoreCase);
    int i = slot(h) & mask;
    String k;
    while ((k = keys[i]) != null) {
      if (hashes[i] == h && k.length() == to - from && StrMatcher.regionEquals(s, from, k, 0, k.length(), ignoreCase)) {
        return values[i];
      }
      i = (i + 1) & mask;
    }
    return null;
  }

  private static int hash(String s, int from, int to, boolean fold) {
    int h = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      h = 31 * h + (fold ? StrMatcher.lowerAscii(c) : c);
    }
    return h;
  }

  /** Spreads a string hash over the table (the low bits of {@code 31*h+c} cluster). */
  static int slot(int h) {
    return (h ^ (h >>> 16)) * 0x9E3779B9 >>> 7;
  }
}

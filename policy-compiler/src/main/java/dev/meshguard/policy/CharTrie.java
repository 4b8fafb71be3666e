package dev.meshguard.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An immutable character trie of prefixes (or, walked from the end, suffixes), each node holding
 * the rules stored under the string that leads to it. One walk along a request value visits every
 * stored prefix of it, so the cost is the value's length, whatever the number of prefixes. Nodes
 * live in flat arrays; children are found by binary search over sorted edge characters.
 */
final class CharTrie {

  private final char[][] edges;
  private final int[][] children;
  private final int[][] postings;
  private final boolean reverse;
  private final boolean ignoreCase;

  /**
   * @param entries prefixes (or suffixes, when {@code reverse}) to rules; lower-case when
   *     {@code ignoreCase}
   */
  CharTrie(Map<String, int[]> entries, boolean reverse, boolean ignoreCase) {
    this.reverse = reverse;
    this.ignoreCase = ignoreCase;
    List<TreeMap<Character, Integer>> nodes = new ArrayList<>();
    List<int[]> rules = new ArrayList<>();
    nodes.add(new TreeMap<>());
    rules.add(null);
    for (Map.Entry<String, int[]> e : entries.entrySet()) {
      String key = e.getKey();
      int node = 0;
      for (int i = 0; i < key.length(); i++) {
        char c = key.charAt(reverse ? key.length() - 1 - i : i);
        Integer next = nodes.get(node).get(c);
        if (next == null) {
          next = nodes.size();
          nodes.get(node).put(c, next);
          nodes.add(new TreeMap<>());
          rules.add(null);
        }
        node = next;
      }
      rules.set(node, e.getValue());
    }
    int n = nodes.size();
    this.edges = new char[n][];
    this.children = new int[n][];
    this.postings = rules.toArray(new int[0][]);
    for (int i = 0; i < n; i++) {
      TreeMap<Character, Integer> m = nodes.get(i);
      edges[i] = new char[m.size()];
      children[i] = new int[m.size()];
      int j = 0;
      for (Map.Entry<Character, Integer> e : m.entrySet()) {
        edges[i][j] = e.getKey();
        children[i][j] = e.getValue();
        j++;
      }
    }
  }

  /** Adds the rules of every stored prefix (suffix) of {@code s[from, to)} to {@code sink}. */
  void collect(String s, int from, int to, Candidates sink) {
    int node = 0;
    if (postings[0] != null) {
      sink.addAll(postings[0]);
    }
    int length = to - from;
    for (int i = 0; i < length; i++) {
      char c = s.charAt(reverse ? to - 1 - i : from + i);
      if (ignoreCase) {
        c = StrMatcher.lowerAscii(c);
      }
      int at = Arrays.binarySearch(edges[node], c);
      if (at < 0) {
        return;
      }
      node = children[node][at];
      if (postings[node] != null) {
        sink.addAll(postings[node]);
      }
    }
  }
}

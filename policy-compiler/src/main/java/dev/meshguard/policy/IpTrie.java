package dev.meshguard.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A binary trie of CIDR ranges, one per address family: walking an address's bits from the top
 * visits every stored range that contains it, in at most 32 (IPv4) or 128 (IPv6) steps,
 * whatever the number of ranges.
 */
final class IpTrie {

  private final Family v4;
  private final Family v6;

  IpTrie(Map<Cidr, int[]> ranges) {
    Builder b4 = new Builder();
    Builder b6 = new Builder();
    for (Map.Entry<Cidr, int[]> e : ranges.entrySet()) {
      Cidr c = e.getKey();
      (c.address().length() == 4 ? b4 : b6).add(c, e.getValue());
    }
    this.v4 = b4.build();
    this.v6 = b6.build();
  }

  void collect(IpAddress ip, Candidates sink) {
    if (ip == null) {
      return;
    }
    Family f = ip.length() == 4 ? v4 : v6;
    int node = 0;
    if (f.postings[0] != null) {
      sink.addAll(f.postings[0]);
    }
    int bits = ip.length() * 8;
    for (int i = 0; i < bits; i++) {
      boolean one = ((ip.byteAt(i / 8) >> (7 - i % 8)) & 1) == 1;
      node = one ? f.one[node] : f.zero[node];
      if (node == 0) {
        return; // 0 is the root: no child
      }
      if (f.postings[node] != null) {
        sink.addAll(f.postings[node]);
      }
    }
  }

  private record Family(int[] zero, int[] one, int[][] postings) {}

  private static final class Builder {
    final List<int[]> zero = new ArrayList<>(List.of(new int[] {0}));
    final List<int[]> one = new ArrayList<>(List.of(new int[] {0}));
    final List<int[]> postings = new ArrayList<>(java.util.Collections.singletonList(null));

    void add(Cidr c, int[] rules) {
      int node = 0;
      for (int i = 0; i < c.prefixLength(); i++) {
        List<int[]> side = c.bit(i) ? one : zero;
        int next = side.get(node)[0];
        if (next == 0) {
          next = zero.size();
          zero.add(new int[] {0});
          one.add(new int[] {0});
          postings.add(null);
          side.get(node)[0] = next;
        }
        node = next;
      }
      int[] existing = postings.get(node);
      postings.set(node, existing == null ? rules : concat(existing, rules));
    }

    Family build() {
      int n = zero.size();
      int[] z = new int[n];
      int[] o = new int[n];
      for (int i = 0; i < n; i++) {
        z[i] = zero.get(i)[0];
        o[i] = one.get(i)[0];
      }
      return new Family(z, o, postings.toArray(new int[0][]));
    }

    private static int[] concat(int[] a, int[] b) {
      int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, c, a.length, b.length);
      return c;
    }
  }
}

package dev.meshguard.policy;

import com.google.protobuf.Value;
import dev.meshguard.policy.IndexKey.Dim;
import dev.meshguard.policy.IndexKey.DimKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Finds, for one request, the few rules that can match it, so that evaluation cost grows with
 * the number of rules that could apply rather than with the number of rules.
 *
 * <h2>Design</h2>
 *
 * <p>A rule is {@code (OR from) AND (OR to) AND (AND when)}. If some field must hold for the rule
 * to match and that field has positive values (say {@code paths: [/admin*]}), then the rule can
 * only match requests whose path starts with {@code /admin}: the rule is stored under that key,
 * and a request looks up its own path. A rule can be stored under
 *
 * <ul>
 *   <li>the keys of one {@code when} condition, or
 *   <li>for its {@code from} (or {@code to}) list, one field's keys per entry: whichever entry
 *       matches, one of its keys is found.
 * </ul>
 *
 * Of these, each rule is stored under the choice with the lowest expected number of lookups that
 * hit it, estimated from how many distinct keys its dimension holds (an exact principal among a
 * thousand is hit one time in a thousand; {@code methods: [GET]} one time in four; a presence
 * check always). A rule with no usable field, or whose best choice is no better than always
 * ({@code rules: [{}]}, only {@code not} forms), is checked on every request.
 *
 * <p>Lookups by kind: exact values in {@link StringTable}s; prefixes and suffixes in
 * {@link AffixTable}s (one pass along the request's value finds them all); CIDR ranges in an
 * {@link IpTrie}; ports in an int table. The index only narrows: every candidate is checked in
 * full, lowest ordinal first, so the answer is the one a linear scan gives; a property test
 * compares the two.
 */
final class RuleIndex {

  private final Dimension[] dimensions;
  private final int[] always;

  private RuleIndex(Dimension[] dimensions, int[] always) {
    this.dimensions = dimensions;
    this.always = always;
  }

  /** Rules checked on every request (no usable index key). */
  int alwaysChecked() {
    return always.length;
  }

  /** Adds the ordinals of every rule that may match {@code r}, sorted and unique. */
  void collect(Req r, Candidates out) {
    for (Dimension d : dimensions) {
      d.collect(r, out);
    }
    out.addAll(always);
    out.sortUnique();
  }

  /** Builds the index over {@code rules} (ordinal = array index; null entries never match). */
  static RuleIndex build(CompiledRule[] rules) {
    Map<Dim, Stats> stats = new HashMap<>();
    for (CompiledRule rule : rules) {
      if (rule == null) {
        continue;
      }
      forEachField(rule, f -> {
        List<IndexKey> keys = keysOf(f);
        if (keys != null) {
          for (IndexKey k : keys) {
            stats.computeIfAbsent(k.dim(), d -> new Stats()).add(k);
          }
        }
      });
    }
    stats.values().forEach(Stats::freeze);

    Map<Dim, DimensionBuilder> builders = new TreeMap<>(DIM_ORDER);
    List<Integer> always = new ArrayList<>();
    for (int i = 0; i < rules.length; i++) {
      if (rules[i] == null) {
        continue;
      }
      Choice best = choose(rules[i], stats);
      if (best == null || best.cost >= 1.0) {
        always.add(i);
        continue;
      }
      for (IndexKey k : best.keys) {
        builders.computeIfAbsent(k.dim(), DimensionBuilder::new).add(k, i);
      }
    }
    Dimension[] dims = builders.values().stream().map(DimensionBuilder::build).toArray(Dimension[]::new);
    return new RuleIndex(dims, always.stream().mapToInt(Integer::intValue).toArray());
  }

  private static final Comparator<Dim> DIM_ORDER =
      Comparator.comparing((Dim d) -> d.kind()).thenComparing(Dim::name);

  private static void forEachField(CompiledRule rule, java.util.function.Consumer<Field> action) {
    for (Clause c : rule.from) {
      Arrays.stream(c.fields()).forEach(action);
    }
    for (Clause c : rule.to) {
      Arrays.stream(c.fields()).forEach(action);
    }
    Arrays.stream(rule.when).forEach(action);
  }

  /**
   * The keys under which a field can be found: one per positive term; an empty list for a field
   * that never holds (the rule is then never a candidate); null when it cannot be indexed.
   */
  private static List<IndexKey> keysOf(Field f) {
    if (f.never) {
      return List.of();
    }
    if (f.positive.length == 0) {
      return null;
    }
    List<IndexKey> keys = new ArrayList<>(f.positive.length);
    for (Term t : f.positive) {
      IndexKey k = t.key();
      if (k == null) {
        return null;
      }
      keys.add(k);
    }
    return keys;
  }

  private record Choice(List<IndexKey> keys, double cost) {}

  private static Choice choose(CompiledRule rule, Map<Dim, Stats> stats) {
    Choice best = pairChoice(rule, stats);
    for (Field f : rule.when) {
      best = better(best, choice(keysOf(f), stats));
    }
    if (rule.from.length > 0) {
      best = better(best, choice(rule.from, stats));
    }
    if (rule.to.length > 0) {
      best = better(best, choice(rule.to, stats));
    }
    return best;
  }

  /**
   * The two most selective single exact values the rule requires, as one pair key, when it
   * requires at least two in different dimensions: its cost is the product of theirs.
   */
  private static Choice pairChoice(CompiledRule rule, Map<Dim, Stats> stats) {
    Map<Dim, IndexKey> singles = new LinkedHashMap<>();
    for (Field f : rule.when) {
      addSingle(f, singles);
    }
    if (rule.from.length == 1) {
      for (Field f : rule.from[0].fields()) {
        addSingle(f, singles);
      }
    }
    if (rule.to.length == 1) {
      for (Field f : rule.to[0].fields()) {
        addSingle(f, singles);
      }
    }
    if (singles.size() < 2) {
      return null;
    }
    List<IndexKey> byRate = new ArrayList<>(singles.values());
    byRate.sort(Comparator.comparingDouble((IndexKey k) -> stats.get(k.dim()).hitRate(k))
        .thenComparing(IndexKey::dim, DIM_ORDER));
    IndexKey a = byRate.get(0);
    IndexKey b = byRate.get(1);
    // Canonical order, so equal pairs share a table: a namespace first, else dimension order.
    boolean swap = b.dim().kind() == DimKind.NAMESPACE
        || (a.dim().kind() != DimKind.NAMESPACE && DIM_ORDER.compare(a.dim(), b.dim()) > 0);
    IndexKey pair = swap ? IndexKey.composite(b, a) : IndexKey.composite(a, b);
    return new Choice(List.of(pair), stats.get(a.dim()).hitRate(a) * stats.get(b.dim()).hitRate(b));
  }

  /** A field with exactly one positive exact value (or port) in a dimension a pair can use. */
  private static void addSingle(Field f, Map<Dim, IndexKey> singles) {
    if (f.never || f.positive.length != 1) {
      return;
    }
    IndexKey k = f.positive[0].key();
    if (k != null && (k.kind() == IndexKey.Kind.EXACT || k.kind() == IndexKey.Kind.PORT)
        && PairTable.pairable(k.dim().kind())) {
      singles.putIfAbsent(k.dim(), k);
    }
  }

  /** One field's keys per clause (the cheapest), or null if some clause has no usable field. */
  private static Choice choice(Clause[] clauses, Map<Dim, Stats> stats) {
    List<IndexKey> keys = new ArrayList<>();
    double cost = 0;
    for (Clause c : clauses) {
      Choice best = null;
      for (Field f : c.fields()) {
        best = better(best, choice(keysOf(f), stats));
      }
      if (best == null) {
        return null;
      }
      keys.addAll(best.keys);
      cost += best.cost;
    }
    return new Choice(keys, cost);
  }

  private static Choice choice(List<IndexKey> keys, Map<Dim, Stats> stats) {
    if (keys == null) {
      return null;
    }
    double cost = 0;
    for (IndexKey k : keys) {
      cost += stats.get(k.dim()).hitRate(k);
    }
    return new Choice(keys, cost);
  }

  private static Choice better(Choice a, Choice b) {
    if (b == null) {
      return a;
    }
    return a == null || b.cost < a.cost ? b : a;
  }

  /** What one dimension holds over all rules: to estimate how often a key is hit. */
  private static final class Stats {
    final TreeSet<String> texts = new TreeSet<>();
    final TreeSet<String> reversed = new TreeSet<>();
    final List<Cidr> cidrs = new ArrayList<>();
    final TreeSet<Integer> ports = new TreeSet<>();
    String[] sorted;
    String[] sortedReversed;
    int distinct;

    void add(IndexKey k) {
      switch (k.kind()) {
        case EXACT, PREFIX, SUFFIX -> {
          texts.add(k.text());
          reversed.add(new StringBuilder(k.text()).reverse().toString());
        }
        case CIDR -> cidrs.add(k.cidr());
        case PORT -> ports.add(k.port());
        case PRESENT, COMPOSITE -> { }
      }
    }

    void freeze() {
      sorted = texts.toArray(new String[0]);
      sortedReversed = reversed.toArray(new String[0]);
      distinct = texts.size() + cidrs.size() + ports.size();
    }

    /** The estimated share of requests that hit {@code k}: the share of known keys it covers. */
    double hitRate(IndexKey k) {
      double unit = 1.0 / (distinct + 1);
      return switch (k.kind()) {
        case EXACT, PORT -> unit;
        case PREFIX -> Math.max(unit, countWithPrefix(sorted, k.text()) * unit);
        case SUFFIX -> Math.max(unit,
            countWithPrefix(sortedReversed, new StringBuilder(k.text()).reverse().toString()) * unit);
        case CIDR -> {
          if (cidrs.size() > 256) {
            yield unit;
          }
          int covered = 0;
          for (Cidr c : cidrs) {
            if (c.prefixLength() >= k.cidr().prefixLength() && k.cidr().contains(c.address())) {
              covered++;
            }
          }
          yield Math.max(unit, covered * unit);
        }
        case PRESENT -> 1.0;
        case COMPOSITE -> throw new IllegalStateException("pairs are rated by their parts");
      };
    }

    private static int countWithPrefix(String[] sorted, String prefix) {
      int lo = lowerBound(sorted, prefix);
      int hi = lowerBound(sorted, prefix + Character.MAX_VALUE);
      return hi - lo;
    }

    private static int lowerBound(String[] a, String key) {
      int lo = 0;
      int hi = a.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (a[mid].compareTo(key) < 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo;
    }
  }

  // --- the lookup structures ---

  private sealed interface Dimension permits StringDimension, IpDimension, PortDimension, PairDimension {
    void collect(Req r, Candidates out);
  }

  /** Exact values, prefixes, suffixes and presence over one string attribute. */
  private record StringDimension(Dim dim, Term.Source source, StringTable exact, AffixTable prefixes,
      AffixTable suffixes, int[] present) implements Dimension {

    @Override
    public void collect(Req r, Candidates out) {
      switch (dim.kind()) {
        case NAMESPACE -> collectNamespaces(r.principal, out);
        case CLAIM -> collectClaim(r.claim(dim.claimPath()), out);
        default -> {
          String v = source.get(r);
          if (v != null) {
            lookup(v, 0, source.end(r, v), out);
            if (present != null) {
              out.addAll(present);
            }
          }
        }
      }
    }

    private void lookup(String s, int from, int to, Candidates out) {
      if (exact != null) {
        int[] rules = exact.get(s, from, to);
        if (rules != null) {
          out.addAll(rules);
        }
      }
      if (prefixes != null) {
        prefixes.collect(s, from, to, out);
      }
      if (suffixes != null) {
        suffixes.collect(s, from, to, out);
      }
    }

    /** Every {@code /ns/<x>/} segment of the principal: what Istio's namespace regex can match. */
    private void collectNamespaces(String principal, Candidates out) {
      if (principal == null || exact == null) {
        return;
      }
      int at = principal.indexOf("/ns/");
      while (at >= 0) {
        int start = at + 4;
        int end = principal.indexOf('/', start);
        if (end < 0) {
          return;
        }
        lookup(principal, start, end, out);
        at = principal.indexOf("/ns/", at + 1);
      }
    }

    private void collectClaim(Value v, Candidates out) {
      if (v == null) {
        return;
      }
      if (present != null) {
        out.addAll(present);
      }
      switch (v.getKindCase()) {
        case STRING_VALUE -> {
          String s = v.getStringValue();
          if (Term.Claim.isSpaceDelimited(dim.claimPath())) {
            int i = 0;
            int n = s.length();
            while (i < n) {
              while (i < n && s.charAt(i) == ' ') {
                i++;
              }
              int start = i;
              while (i < n && s.charAt(i) != ' ') {
                i++;
              }
              if (i > start) {
                lookup(s, start, i, out);
              }
            }
          } else {
            lookup(s, 0, s.length(), out);
          }
        }
        case LIST_VALUE -> {
          List<Value> values = v.getListValue().getValuesList();
          for (int i = 0; i < values.size(); i++) {
            Value e = values.get(i);
            if (e.getKindCase() == Value.KindCase.STRING_VALUE) {
              lookup(e.getStringValue(), 0, e.getStringValue().length(), out);
            }
          }
        }
        default -> { }
      }
    }
  }

  private record PairDimension(PairTable table) implements Dimension {
    @Override
    public void collect(Req r, Candidates out) {
      table.collect(r, out);
    }
  }

  private record IpDimension(Term.IpSource source, IpTrie trie) implements Dimension {
    @Override
    public void collect(Req r, Candidates out) {
      trie.collect(source.get(r), out);
    }
  }

  /** Ports in an open-addressing table (no boxing on lookup). */
  private static final class PortDimension implements Dimension {
    private final int[] keys;
    private final int[][] values;
    private final int mask;

    PortDimension(Map<Integer, int[]> ports) {
      int capacity = Integer.highestOneBit(Math.max(2, ports.size() * 2) - 1) << 1;
      keys = new int[capacity];
      Arrays.fill(keys, -1);
      values = new int[capacity][];
      mask = capacity - 1;
      ports.forEach((port, rules) -> {
        int i = (port * 0x9E3779B9) >>> 16 & mask;
        while (keys[i] != -1) {
          i = (i + 1) & mask;
        }
        keys[i] = port;
        values[i] = rules;
      });
    }

    @Override
    public void collect(Req r, Candidates out) {
      int port = r.attrs.destinationPort();
      if (port < 0) {
        return;
      }
      int i = (port * 0x9E3779B9) >>> 16 & mask;
      int k;
      while ((k = keys[i]) != -1) {
        if (k == port) {
          out.addAll(values[i]);
          return;
        }
        i = (i + 1) & mask;
      }
    }
  }

  private static final class DimensionBuilder {
    final Dim dim;
    final Map<String, List<Integer>> exact = new TreeMap<>();
    final Map<String, List<Integer>> prefix = new TreeMap<>();
    final Map<String, List<Integer>> suffix = new TreeMap<>();
    final List<Integer> present = new ArrayList<>();
    final Map<Cidr, List<Integer>> cidrs = new LinkedHashMap<>();
    final Map<Integer, List<Integer>> ports = new TreeMap<>();
    final Map<List<String>, List<Integer>> pairs = new LinkedHashMap<>();
    Dim firstOfPair;
    Dim secondOfPair;

    DimensionBuilder(Dim dim) {
      this.dim = dim;
    }

    void add(IndexKey k, int rule) {
      switch (k.kind()) {
        case EXACT -> exact.computeIfAbsent(k.text(), x -> new ArrayList<>()).add(rule);
        case PREFIX -> prefix.computeIfAbsent(k.text(), x -> new ArrayList<>()).add(rule);
        case SUFFIX -> suffix.computeIfAbsent(k.text(), x -> new ArrayList<>()).add(rule);
        case PRESENT -> present.add(rule);
        case CIDR -> cidrs.computeIfAbsent(k.cidr(), x -> new ArrayList<>()).add(rule);
        case PORT -> ports.computeIfAbsent(k.port(), x -> new ArrayList<>()).add(rule);
        case COMPOSITE -> {
          IndexKey a = k.parts().get(0);
          IndexKey b = k.parts().get(1);
          firstOfPair = a.dim();
          secondOfPair = b.dim();
          pairs.computeIfAbsent(List.of(pairText(a), pairText(b)), x -> new ArrayList<>()).add(rule);
        }
      }
    }

    private static String pairText(IndexKey k) {
      return k.kind() == IndexKey.Kind.PORT ? String.valueOf(k.port()) : k.text();
    }

    Dimension build() {
      return switch (dim.kind()) {
        case SOURCE_IP, REMOTE_IP, DESTINATION_IP -> new IpDimension(ipSource(dim.kind()), new IpTrie(postings(cidrs)));
        case DESTINATION_PORT -> new PortDimension(postings(ports));
        case COMPOSITE -> new PairDimension(new PairTable(firstOfPair, secondOfPair, postings(pairs)));
        default -> {
          boolean fold = dim.caseInsensitive();
          yield new StringDimension(dim, source(dim),
              exact.isEmpty() ? null : new StringTable(postings(exact), fold),
              prefix.isEmpty() ? null : new AffixTable(postings(prefix), false, fold),
              suffix.isEmpty() ? null : new AffixTable(postings(suffix), true, fold),
              present.isEmpty() ? null : unique(present));
        }
      };
    }

    private static Term.IpSource ipSource(DimKind kind) {
      return switch (kind) {
        case SOURCE_IP -> Term.IpSource.SOURCE;
        case REMOTE_IP -> Term.IpSource.REMOTE;
        default -> Term.IpSource.DESTINATION;
      };
    }

    private static Term.Source source(Dim dim) {
      return switch (dim.kind()) {
        case PRINCIPAL -> Term.Std.PRINCIPAL;
        case URL_PATH -> Term.Std.URL_PATH;
        case HOST -> Term.Std.HOST;
        case METHOD -> Term.Std.METHOD;
        case SNI -> Term.Std.SNI;
        case HEADER -> new Term.Header(dim.name());
        default -> null; // NAMESPACE and CLAIM read the request themselves
      };
    }

    private static <K> Map<K, int[]> postings(Map<K, List<Integer>> lists) {
      Map<K, int[]> out = new LinkedHashMap<>();
      lists.forEach((k, v) -> out.put(k, unique(v)));
      return out;
    }

    private static int[] unique(List<Integer> rules) {
      return rules.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
    }
  }
}

package dev.meshguard.policy;

import dev.meshguard.policy.IndexKey.Dim;
import dev.meshguard.policy.IndexKey.DimKind;
import java.util.List;
import java.util.Map;

/**
 * Rules stored under a pair of exact values of two request attributes (say the principal and the
 * method), for rule sets whose single attributes repeat a lot: ten thousand rules over two
 * hundred principals and four methods leave fifty candidates per principal but about twelve per
 * (principal, method). The request's two values are hashed in place (no key object is built) and
 * looked up once; a namespace, of which a principal may name several, is looked up once per
 * {@code /ns/<x>/} segment.
 */
final class PairTable {

  private final Dim first;
  private final Dim second;
  private final Term.Source firstSource;
  private final Term.Source secondSource;
  private final int[] hashes;
  private final String[] firstKeys;
  private final String[] secondKeys;
  private final int[][] values;
  private final int mask;

  /**
   * @param entries (first value, second value) to rules; a port is written in decimal, a host in
   *     lower case; {@code first} may be {@link DimKind#NAMESPACE}, {@code second} may not
   */
  PairTable(Dim first, Dim second, Map<List<String>, int[]> entries) {
    if (second.kind() == DimKind.NAMESPACE) {
      throw new IllegalArgumentException("the namespace must come first");
    }
    this.first = first;
    this.second = second;
    this.firstSource = source(first);
    this.secondSource = source(second);
    int capacity = Integer.highestOneBit(Math.max(2, entries.size() * 2) - 1) << 1;
    this.hashes = new int[capacity];
    this.firstKeys = new String[capacity];
    this.secondKeys = new String[capacity];
    this.values = new int[capacity][];
    this.mask = capacity - 1;
    for (Map.Entry<List<String>, int[]> e : entries.entrySet()) {
      String a = e.getKey().get(0);
      String b = e.getKey().get(1);
      int h = 31 * hash(a, 0, a.length(), false) + hash(b, 0, b.length(), false);
      int i = StringTable.slot(h) & mask;
      while (firstKeys[i] != null) {
        i = (i + 1) & mask;
      }
      hashes[i] = h;
      firstKeys[i] = a;
      secondKeys[i] = b;
      values[i] = e.getValue();
    }
  }

  private static Term.Source source(Dim d) {
    return switch (d.kind()) {
      case PRINCIPAL -> Term.Std.PRINCIPAL;
      case URL_PATH -> Term.Std.URL_PATH;
      case HOST -> Term.Std.HOST;
      case METHOD -> Term.Std.METHOD;
      case SNI -> Term.Std.SNI;
      case HEADER -> new Term.Header(d.name());
      case NAMESPACE, DESTINATION_PORT -> null;
      default -> throw new IllegalArgumentException("not a pair dimension: " + d);
    };
  }

  /** Whether a single exact value of {@code kind} can be half of a pair. */
  static boolean pairable(DimKind kind) {
    return switch (kind) {
      case PRINCIPAL, NAMESPACE, URL_PATH, HOST, METHOD, SNI, HEADER, DESTINATION_PORT -> true;
      default -> false;
    };
  }

  void collect(Req r, Candidates out) {
    if (first.kind() == DimKind.NAMESPACE) {
      String principal = r.principal;
      if (principal == null) {
        return;
      }
      int at = principal.indexOf("/ns/");
      while (at >= 0) {
        int start = at + 4;
        int end = principal.indexOf('/', start);
        if (end < 0) {
          return;
        }
        collectSecond(r, principal, start, end, out);
        at = principal.indexOf("/ns/", at + 1);
      }
      return;
    }
    if (first.kind() == DimKind.DESTINATION_PORT) {
      int port = r.attrs.destinationPort();
      if (port >= 0) {
        collectSecond(r, null, port, -1, out);
      }
      return;
    }
    String a = firstSource.get(r);
    if (a != null) {
      collectSecond(r, a, 0, firstSource.end(r, a), out);
    }
  }

  /** {@code a == null} means the first half is the port {@code aFrom}. */
  private void collectSecond(Req r, String a, int aFrom, int aTo, Candidates out) {
    int ha = a == null ? portHash(aFrom) : hash(a, aFrom, aTo, first.caseInsensitive());
    String b;
    int bFrom;
    int bTo;
    int hb;
    int port = -1;
    if (second.kind() == DimKind.DESTINATION_PORT) {
      port = r.attrs.destinationPort();
      if (port < 0) {
        return;
      }
      b = null;
      bFrom = 0;
      bTo = 0;
      hb = portHash(port);
    } else {
      b = secondSource.get(r);
      if (b == null) {
        return;
      }
      bFrom = 0;
      bTo = secondSource.end(r, b);
      hb = hash(b, bFrom, bTo, second.caseInsensitive());
    }
    int h = 31 * ha + hb;
    int i = StringTable.slot(h) & mask;
    String k;
    while ((k = firstKeys[i]) != null) {
      if (hashes[i] == h
          && (a == null ? portEquals(k, aFrom) : regionEquals(k, a, aFrom, aTo, first.caseInsensitive()))
          && (b == null ? portEquals(secondKeys[i], port) : regionEquals(secondKeys[i], b, bFrom, bTo,
              second.caseInsensitive()))) {
        out.addAll(values[i]);
        return;
      }
      i = (i + 1) & mask;
    }
  }

  private static boolean regionEquals(String key, String s, int from, int to, boolean fold) {
    return key.length() == to - from && StrMatcher.regionEquals(s, from, key, 0, key.length(), fold);
  }

  private static int hash(String s, int from, int to, boolean fold) {
    int h = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      h = 31 * h + (fold ? StrMatcher.lowerAscii(c) : c);
    }
    return h;
  }

  /** The hash of the port's decimal string, without building the string. */
  static int portHash(int port) {
    int divisor = 1;
    while (port / divisor >= 10) {
      divisor *= 10;
    }
    int h = 0;
    for (; divisor > 0; divisor /= 10) {
      h = 31 * h + ('0' + (port / divisor) % 10);
    }
    return h;
  }

  private static boolean portEquals(String key, int port) {
    int value = 0;
    for (int i = 0; i < key.length(); i++) {
      value = value * 10 + (key.charAt(i) - '0');
    }
    return value == port && !key.isEmpty() && (key.length() == 1 || key.charAt(0) != '0');
  }
}

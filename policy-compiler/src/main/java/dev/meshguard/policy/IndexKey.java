package dev.meshguard.policy;

import java.util.List;

/**
 * What one positive matcher requires of a request, in a form the {@link RuleIndex} can look up:
 * if the matcher is true, the request's value in {@link #dim} is found under this key. The
 * converse need not hold (the index only narrows; the rule is always fully checked).
 *
 * @param dim the request attribute
 * @param kind how the key is looked up
 * @param text the exact value, prefix or suffix ({@link Kind#EXACT}, {@link Kind#PREFIX},
 *     {@link Kind#SUFFIX}); lower-case for case-insensitive dimensions
 * @param cidr the range ({@link Kind#CIDR})
 * @param port the port ({@link Kind#PORT})
 * @param parts the two keys that must both hold ({@link Kind#COMPOSITE})
 */
record IndexKey(Dim dim, Kind kind, String text, Cidr cidr, int port, List<IndexKey> parts) {

  IndexKey(Dim dim, Kind kind, String text, Cidr cidr, int port) {
    this(dim, kind, text, cidr, port, List.of());
  }

  /** Both {@code a} and {@code b} (exact or port keys of two different dimensions) hold. */
  static IndexKey composite(IndexKey a, IndexKey b) {
    return new IndexKey(new Dim(DimKind.COMPOSITE, a.dim() + "|" + b.dim(), List.of()), Kind.COMPOSITE, null, null, 0,
        List.of(a, b));
  }

  enum Kind {
    EXACT,
    PREFIX,
    SUFFIX,
    /** The attribute exists (and maybe more): looked up on every request that has it. */
    PRESENT,
    CIDR,
    PORT,
    /** Two exact (or port) keys of different dimensions at once. */
    COMPOSITE
  }

  static IndexKey ofString(Dim dim, StrMatcher m) {
    IndexKey k = keyOf(dim, m);
    // An empty prefix or suffix holds for every value: the same as presence.
    return k != null && k.text() != null && k.text().isEmpty() && k.kind() != Kind.EXACT
        ? new IndexKey(dim, Kind.PRESENT, null, null, 0) : k;
  }

  private static IndexKey keyOf(Dim dim, StrMatcher m) {
    boolean fold = dim.caseInsensitive();
    return switch (m) {
      case StrMatcher.Exact e -> new IndexKey(dim, Kind.EXACT, fold ? StrMatcher.lowerAscii(e.value()) : e.value(), null, 0);
      case StrMatcher.Prefix p -> new IndexKey(dim, Kind.PREFIX, fold ? StrMatcher.lowerAscii(p.prefix()) : p.prefix(), null, 0);
      case StrMatcher.Suffix s -> new IndexKey(dim, Kind.SUFFIX, fold ? StrMatcher.lowerAscii(s.suffix()) : s.suffix(), null, 0);
      case StrMatcher.PrefixAndSuffix ps -> ps.suffix().isEmpty()
          ? new IndexKey(dim, Kind.PREFIX, ps.prefix(), null, 0)
          : new IndexKey(dim, Kind.SUFFIX, ps.suffix(), null, 0);
      case StrMatcher.Template t -> t.template().literalPrefix().isEmpty()
          ? new IndexKey(dim, Kind.PRESENT, null, null, 0)
          : new IndexKey(dim, Kind.PREFIX, t.template().literalPrefix(), null, 0);
      case StrMatcher.NonEmpty n -> new IndexKey(dim, Kind.PRESENT, null, null, 0);
      case StrMatcher.Present p -> new IndexKey(dim, Kind.PRESENT, null, null, 0);
      case StrMatcher.Regex r -> null;
      case StrMatcher.Never n -> null;
    };
  }

  /**
   * One request attribute that rules can be indexed by.
   *
   * @param kind which attribute
   * @param name the header name (lower case) or the claim path; empty otherwise
   * @param claimPath the claim path, for {@link DimKind#CLAIM}
   */
  record Dim(DimKind kind, String name, List<String> claimPath) {
    Dim {
      claimPath = List.copyOf(claimPath);
    }

    static Dim of(DimKind kind) {
      return new Dim(kind, "", List.of());
    }

    static Dim header(String lowerName) {
      return new Dim(DimKind.HEADER, lowerName, List.of());
    }

    static Dim claim(List<String> path) {
      return new Dim(DimKind.CLAIM, String.join("\u0000", path), path);
    }

    boolean caseInsensitive() {
      return kind == DimKind.HOST;
    }
  }

  enum DimKind {
    PRINCIPAL,
    /** Each {@code /ns/<x>/} segment of the principal. */
    NAMESPACE,
    URL_PATH,
    HOST,
    METHOD,
    SNI,
    HEADER,
    /** A JWT claim: its string value, or each string of a list. */
    CLAIM,
    SOURCE_IP,
    REMOTE_IP,
    DESTINATION_IP,
    DESTINATION_PORT,
    /** A pair of single-valued dimensions, looked up together. */
    COMPOSITE
  }
}

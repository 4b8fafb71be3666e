package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.re2j.Pattern;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Combinators;
import org.junit.jupiter.api.Test;

/** The string, path-template and CIDR matchers and the lookup structures of the index. */
class MatchersTest {

  @Test
  void istioStringForms() {
    assertThat(StrMatcher.istio("abc")).isEqualTo(new StrMatcher.Exact("abc", false));
    assertThat(StrMatcher.istio("abc*")).isEqualTo(new StrMatcher.Prefix("abc", false));
    assertThat(StrMatcher.istio("*abc")).isEqualTo(new StrMatcher.Suffix("abc", false));
    assertThat(StrMatcher.istio("*")).isEqualTo(StrMatcher.NON_EMPTY);
    // A '*' in the middle is a literal character.
    assertThat(StrMatcher.istio("a*c").matches("a*c")).isTrue();
    assertThat(StrMatcher.istio("a*c").matches("abc")).isFalse();
    // With a prefix (principals): exact and prefix get "spiffe://", a suffix becomes spiffe://.*x.
    assertThat(StrMatcher.istio("td/ns/a", "spiffe://")).isEqualTo(new StrMatcher.Exact("spiffe://td/ns/a", false));
    assertThat(StrMatcher.istio("td/*", "spiffe://")).isEqualTo(new StrMatcher.Prefix("spiffe://td/", false));
    StrMatcher suffix = StrMatcher.istio("*/sa/b", "spiffe://");
    assertThat(suffix.matches("spiffe://td/ns/x/sa/b")).isTrue();
    assertThat(suffix.matches("https://td/ns/x/sa/b")).isFalse();
    assertThat(suffix.matches("spiffe:/sa/b")).isFalse();
    // Unquoted metacharacters in the suffix stay regex syntax, as in the regex Istio writes.
    assertThat(StrMatcher.istio("*.b", "spiffe://")).isInstanceOf(StrMatcher.Regex.class);
    assertThat(StrMatcher.istio("*.b", "spiffe://").matches("spiffe://xxb")).isTrue();
  }

  @Test
  void nonEmptyIsRe2DotPlus() {
    assertThat(StrMatcher.NON_EMPTY.matches("x")).isTrue();
    assertThat(StrMatcher.NON_EMPTY.matches("")).isFalse();
    assertThat(StrMatcher.NON_EMPTY.matches("a\nb")).isFalse();
    assertThat(Pattern.compile(".+").matcher("a\nb").matches()).isFalse();
  }

  @Test
  void headerFormsAndAsciiCaseFolding() {
    assertThat(StrMatcher.header("*", false).matches("")).isTrue();
    StrMatcher host = StrMatcher.header("*.Example.com", true);
    assertThat(host.matches("API.EXAMPLE.COM")).isTrue();
    // Only ASCII folds, as absl::EqualsIgnoreCase: the Kelvin sign is not a 'k'.
    assertThat(StrMatcher.header("k", true).matches("\u212A")).isFalse();
    assertThat(StrMatcher.header("K", true).matches("k")).isTrue();
  }

  @Test
  void matchersWorkOnRegions() {
    String s = "/admin?x=1";
    assertThat(StrMatcher.istio("/admin").matches(s, 0, 6)).isTrue();
    assertThat(StrMatcher.istio("*min").matches(s, 0, 6)).isTrue();
    assertThat(StrMatcher.istio("/adm*").matches(s, 0, 3)).isFalse();
  }

  @Test
  void cidrParsingAndContainment() {
    Cidr v4 = Cidr.parse("10.1.2.3/16").orElseThrow();
    assertThat(v4.contains(IpAddress.parse("10.1.255.1").orElseThrow())).isTrue();
    assertThat(v4.contains(IpAddress.parse("10.2.0.1").orElseThrow())).isFalse();
    assertThat(Cidr.parse("10.1.2.3").orElseThrow().prefixLength()).isEqualTo(32);
    assertThat(Cidr.parse("2001:db8::/33").orElseThrow().contains(IpAddress.parse("2001:db8:7fff::1").orElseThrow()))
        .isTrue();
    assertThat(Cidr.parse("2001:db8::/33").orElseThrow().contains(IpAddress.parse("2001:db8:8000::1").orElseThrow()))
        .isFalse();
    assertThat(Cidr.parse("10.0.0.0/33")).isEmpty();
    assertThat(Cidr.parse("10.0.0.0/08")).isEmpty();
    assertThat(Cidr.parse("10.0.0.0/")).isEmpty();
    assertThat(Cidr.parse("example.com")).isEmpty();
    assertThat(Cidr.parse("0.0.0.0/0").orElseThrow().contains(IpAddress.parse("::1").orElseThrow())).isFalse();
  }

  @Test
  void pathTemplateParsing() {
    assertThat(PathTemplate.parse("/a/{*}/b").literalPrefix()).isEqualTo("/a/");
    assertThat(PathTemplate.parse("/{**}").literalPrefix()).isEqualTo("/");
    assertThat(PathTemplate.parse("/a/{**}/b/{*}")).isNull(); // ** must be the last operator
    assertThat(PathTemplate.parse("/a/{name}")).isNull();
    assertThat(PathTemplate.parse("/a//{*}")).isNull();
    assertThat(PathTemplate.parse("/a b/{*}")).isNull();
    assertThat(PathTemplate.parse("/{**}.mpd").matches("/a/b/manifest.mpd", 0, 17)).isTrue();
    assertThat(PathTemplate.parse("/x/{*}.txt").matches("/x/.txt", 0, 7)).isFalse();
    assertThat(PathTemplate.parse("/x/{*}.txt").matches("/x/a.txt", 0, 8)).isTrue();
  }

  /** The linear scan agrees with the RE2 regex Envoy builds for the same template. */
  @Property(tries = 3000)
  void pathTemplateScanAgreesWithEnvoysRegex(@ForAll("templates") String template, @ForAll("paths") String path) {
    PathTemplate t = PathTemplate.parse(template);
    if (t == null) {
      return;
    }
    boolean regex = Pattern.compile(t.envoyRegex()).matcher(path).matches();
    assertThat(t.matches(path, 0, path.length())).as("%s vs %s (%s)", template, path, t.envoyRegex()).isEqualTo(regex);
  }

  @Provide
  Arbitrary<String> templates() {
    Arbitrary<String> segment = Arbitraries.of("a", "b", "ab", "{*}", "{**}", "x.y", "{*}.txt", "{**}.mpd", "");
    return segment.list().ofMinSize(1).ofMaxSize(4).map(parts -> "/" + String.join("/", parts));
  }

  @Provide
  Arbitrary<String> paths() {
    Arbitrary<String> segment = Arbitraries.of("a", "b", "ab", "x.y", "q.txt", "m.mpd", "", "=", "%20", "a b");
    return Combinators.combine(segment.list().ofMinSize(0).ofMaxSize(5), Arbitraries.of("", "/"))
        .as((parts, tail) -> "/" + String.join("/", parts) + tail);
  }

  @Test
  void stringTableLooksUpRegionsAndFoldsCase() {
    Map<String, int[]> entries = new LinkedHashMap<>();
    for (int i = 0; i < 100; i++) {
      entries.put("key" + i, new int[] {i});
    }
    StringTable exact = new StringTable(entries, false);
    assertThat(exact.get("xxkey42yy", 2, 7)).containsExactly(42);
    assertThat(exact.get("KEY42", 0, 5)).isNull();
    assertThat(exact.get("key100", 0, 6)).isNull();
    StringTable folded = new StringTable(Map.of("example.com", new int[] {7}), true);
    assertThat(folded.get("EXAMPLE.com", 0, 11)).containsExactly(7);
  }

  @Test
  void affixTableFindsEveryStoredPrefixOrSuffix() {
    AffixTable prefixes = new AffixTable(Map.of("/", new int[] {1}, "/api/", new int[] {2}, "/api/v1", new int[] {3},
        "/b", new int[] {4}, "/api/v1/items?x", new int[] {8}, "/apX/", new int[] {9}), false, false);
    Candidates c = Candidates.acquire();
    try {
      prefixes.collect("/api/v1/items?x", 0, 13, c);
      c.sortUnique();
      assertThat(java.util.Arrays.copyOf(c.ordinals, c.size)).containsExactly(1, 2, 3);
    } finally {
      c.release();
    }
    AffixTable suffixes = new AffixTable(Map.of(".js", new int[] {5}, "s", new int[] {6}, ".css", new int[] {7}), true, true);
    Candidates d = Candidates.acquire();
    try {
      suffixes.collect("/APP.JS", 0, 7, d);
      d.sortUnique();
      assertThat(java.util.Arrays.copyOf(d.ordinals, d.size)).containsExactly(5, 6);
    } finally {
      d.release();
    }
  }

  @Test
  void ipTrieFindsEveryContainingRange() {
    Map<Cidr, int[]> ranges = new LinkedHashMap<>();
    ranges.put(Cidr.parse("0.0.0.0/0").orElseThrow(), new int[] {0});
    ranges.put(Cidr.parse("10.0.0.0/8").orElseThrow(), new int[] {1});
    ranges.put(Cidr.parse("10.1.0.0/16").orElseThrow(), new int[] {2});
    ranges.put(Cidr.parse("10.1.2.3").orElseThrow(), new int[] {3});
    ranges.put(Cidr.parse("11.0.0.0/8").orElseThrow(), new int[] {4});
    ranges.put(Cidr.parse("::/0").orElseThrow(), new int[] {5});
    IpTrie trie = new IpTrie(ranges);
    assertThat(found(trie, "10.1.2.3")).containsExactly(0, 1, 2, 3);
    assertThat(found(trie, "10.1.2.4")).containsExactly(0, 1, 2);
    assertThat(found(trie, "12.0.0.1")).containsExactly(0);
    assertThat(found(trie, "::1")).containsExactly(5);
  }

  private static List<Integer> found(IpTrie trie, String ip) {
    Candidates c = Candidates.acquire();
    try {
      trie.collect(IpAddress.parse(ip).orElseThrow(), c);
      c.sortUnique();
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < c.size; i++) {
        out.add(c.ordinals[i]);
      }
      return out;
    } finally {
      c.release();
    }
  }

  @Test
  void candidatesAreSortedUniqueAndReentrant() {
    Candidates outer = Candidates.acquire();
    outer.addAll(new int[] {5, 3, 5, 1});
    Candidates inner = Candidates.acquire();
    assertThat(inner).isNotSameAs(outer);
    inner.release();
    outer.sortUnique();
    assertThat(java.util.Arrays.copyOf(outer.ordinals, outer.size)).containsExactly(1, 3, 5);
    outer.release();
    assertThat(Candidates.acquire()).isSameAs(outer);
    outer.release();
  }
}

package dev.meshguard.core.spiffe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Rules from spiffe/spiffe standards/SPIFFE-ID.md §2 (scheme, trust domain, path, 2048 bytes). */
class SpiffeIdTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "spiffe://cluster.local",
      "spiffe://cluster.local/ns/foo/sa/bar",
      "spiffe://example.org/Path.With-All_Chars/09",
      "spiffe://192.168.1.1/workload",
      "spiffe://a_b-c.d/x",
      "spiffe://td/..a/a..",
      "spiffe://td/.../x",
  })
  void acceptsValidIds(String input) throws Exception {
    SpiffeId id = SpiffeId.parse(input);
    assertThat(id.toString()).isEqualTo(input);
  }

  static Stream<Arguments> invalidIds() {
    String longPath = "/" + "a".repeat(2048 - "spiffe://td/".length() + 1);
    return Stream.of(
        Arguments.of("", "is empty"),
        Arguments.of("http://cluster.local/ns/a", "scheme must be \"spiffe://\" (lowercase)"),
        Arguments.of("SPIFFE://cluster.local/ns/a", "scheme must be \"spiffe://\" (lowercase)"),
        Arguments.of("spiffe:/cluster.local", "scheme must be \"spiffe://\" (lowercase)"),
        Arguments.of("spiffe://", "trust domain is missing"),
        Arguments.of("spiffe:///ns/a", "trust domain is missing"),
        Arguments.of("spiffe://Cluster.local/ns/a",
            "trust domain may contain only lowercase letters, digits, '.', '-' and '_'; found 'C' at position 1"),
        Arguments.of("spiffe://user@td/ns/a", "trust domain must not contain userinfo ('@')"),
        Arguments.of("spiffe://td:8080/ns/a", "trust domain must not contain a port (':')"),
        Arguments.of("spiffe://[::1]/ns/a",
            "trust domain may contain only lowercase letters, digits, '.', '-' and '_'; found '[' at position 1"),
        Arguments.of("spiffe://td%41/ns", "percent-encoding is not allowed in the trust domain"),
        Arguments.of("spiffe://td?x=1", "query and fragment are not allowed"),
        Arguments.of("spiffe://td/ns/a?x=1", "query and fragment are not allowed"),
        Arguments.of("spiffe://td/ns/a#frag", "query and fragment are not allowed"),
        Arguments.of("spiffe://td/", "path must not end with '/'"),
        Arguments.of("spiffe://td/ns/a/", "path must not end with '/'"),
        Arguments.of("spiffe://td//ns", "path must not contain empty segments ('//')"),
        Arguments.of("spiffe://td/ns/./a", "path must not contain '.' or '..' segments"),
        Arguments.of("spiffe://td/ns/..", "path must not contain '.' or '..' segments"),
        Arguments.of("spiffe://td/ns/a%20b", "percent-encoding is not allowed in the path"),
        Arguments.of("spiffe://td/ns/a b",
            "path may contain only letters, digits, '.', '-', '_' and '/'; found ' ' in segment 2"),
        Arguments.of("spiffe://td/ns/é",
            "path may contain only letters, digits, '.', '-', '_' and '/'; found U+00E9 in segment 2"),
        Arguments.of("spiffe://" + "a".repeat(256), "trust domain is longer than 255 bytes"),
        Arguments.of("spiffe://td" + longPath, "is longer than 2048 bytes"));
  }

  @ParameterizedTest
  @MethodSource("invalidIds")
  void rejectsInvalidIdsNamingTheRule(String input, String rule) {
    assertThatThrownBy(() -> SpiffeId.parse(input))
        .isInstanceOfSatisfying(InvalidSpiffeIdException.class, e -> {
          assertThat(e.rule()).isEqualTo(rule);
          assertThat(e.input()).isEqualTo(input);
        });
  }

  @Test
  void exactlyMaxLengthIsAccepted() throws Exception {
    String id = "spiffe://td/" + "a".repeat(2048 - "spiffe://td/".length());
    assertThat(id).hasSize(2048);
    assertThat(SpiffeId.parse(id).toString()).isEqualTo(id);
  }

  @Test
  void messageNamesInputAndRule() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://td//x"))
        .hasMessage("invalid SPIFFE ID \"spiffe://td//x\": path must not contain empty segments ('//')");
  }

  @Test
  void recordConstructorCannotBypassValidation() {
    assertThatThrownBy(() -> new SpiffeId("td", "/a/../b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasRootCauseInstanceOf(InvalidSpiffeIdException.class);
  }

  @Test
  void splitsTrustDomainAndPath() throws Exception {
    SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/foo/sa/bar");
    assertThat(id.trustDomain()).isEqualTo("cluster.local");
    assertThat(id.path()).isEqualTo("/ns/foo/sa/bar");
    assertThat(id.isTrustDomainId()).isFalse();
    assertThat(SpiffeId.parse("spiffe://cluster.local").isTrustDomainId()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"cluster.local/ns/foo/sa/bar", "td1/ns/istio-system/sa/istio-ingressgateway", "td"})
  void istioPrincipalRoundTrip(String principal) throws Exception {
    SpiffeId id = SpiffeId.fromIstioPrincipal(principal);
    assertThat(id.toString()).isEqualTo("spiffe://" + principal);
    assertThat(id.toIstioPrincipal()).isEqualTo(principal);
    assertThat(SpiffeId.fromIstioPrincipal(id.toIstioPrincipal())).isEqualTo(id);
  }

  @Test
  void istioPrincipalMustNotCarryTheScheme() {
    assertThatThrownBy(() -> SpiffeId.fromIstioPrincipal("spiffe://cluster.local/ns/a/sa/b"))
        .hasMessageContaining("an Istio principal is written without the \"spiffe://\" scheme");
  }

  @Test
  void serviceAccountIdsFollowIstioLayout() throws Exception {
    assertThat(SpiffeId.forServiceAccount("cluster.local", "foo", "bar").toString())
        .isEqualTo("spiffe://cluster.local/ns/foo/sa/bar");
    assertThatThrownBy(() -> SpiffeId.forServiceAccount("cluster.local", "a/b", "bar"))
        .hasMessageEndingWith(": namespace must be one non-empty path segment");
    assertThatThrownBy(() -> SpiffeId.forServiceAccount("cluster.local", "a", ""))
        .hasMessageEndingWith(": service account must be one non-empty path segment");
  }

  // Expected expansions from Istio's trust domain alias rules (reference/istio-authz-semantics.md §6,
  // istio/istio pilot/pkg/security/authz/builder/testdata/*td-aliases*).
  static Stream<Arguments> aliasExpansions() {
    TrustDomainAliases td1 = new TrustDomainAliases("td1", List.of());
    TrustDomainAliases withAliases = new TrustDomainAliases("td1", List.of("cluster.local", "old-td"));
    return Stream.of(
        Arguments.of(td1, "cluster.local/ns/foo/sa/bar", List.of("td1/ns/foo/sa/bar")),
        Arguments.of(td1, "td1/ns/foo/sa/bar", List.of("td1/ns/foo/sa/bar")),
        Arguments.of(td1, "other/ns/foo/sa/bar", List.of("other/ns/foo/sa/bar")),
        Arguments.of(td1, "*/ns/foo/sa/bar", List.of("*/ns/foo/sa/bar")),
        Arguments.of(td1, "*", List.of("*")),
        Arguments.of(withAliases, "old-td/ns/foo/sa/bar",
            List.of("td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar", "old-td/ns/foo/sa/bar")),
        Arguments.of(withAliases, "cluster.local/ns/foo/sa/bar",
            List.of("td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar", "old-td/ns/foo/sa/bar")),
        Arguments.of(withAliases, "foreign/ns/foo/sa/bar", List.of("foreign/ns/foo/sa/bar")),
        // builder/testdata/http/td-aliases-source-principal-{in,out}.yaml (bundle new-td + old-td,
        // some-trustdomain): a *-td pattern stays for the trust domains it matches by suffix and is
        // rewritten for the others.
        Arguments.of(new TrustDomainAliases("new-td", List.of("old-td", "some-trustdomain")),
            "*-td/ns/foo/sa/prefix-td", List.of("*-td/ns/foo/sa/prefix-td", "some-trustdomain/ns/foo/sa/prefix-td")),
        // Only principals of exactly five parts are considered (trustdomain/util.go).
        Arguments.of(withAliases, "td1/ns/foo/sa/bar/extra", List.of("td1/ns/foo/sa/bar/extra")));
  }

  @ParameterizedTest
  @MethodSource("aliasExpansions")
  void expandsPolicyPrincipalsLikeIstio(TrustDomainAliases aliases, String principal, List<String> expected) {
    assertThat(aliases.expand(principal)).isEqualTo(expected);
  }

  @Test
  void canonicalMapsAliasesToTheMeshTrustDomain() throws Exception {
    TrustDomainAliases aliases = new TrustDomainAliases("td1", List.of("old-td"));
    assertThat(aliases.canonical(SpiffeId.parse("spiffe://old-td/ns/a/sa/b")))
        .isEqualTo(SpiffeId.parse("spiffe://td1/ns/a/sa/b"));
    assertThat(aliases.canonical(SpiffeId.parse("spiffe://other/ns/a/sa/b")))
        .isEqualTo(SpiffeId.parse("spiffe://other/ns/a/sa/b"));
  }

  @Test
  void rejectsInvalidAliases() {
    assertThatThrownBy(() -> new TrustDomainAliases("td1", List.of("Bad")))
        .hasMessageContaining("trust domain alias \"Bad\"");
  }
}

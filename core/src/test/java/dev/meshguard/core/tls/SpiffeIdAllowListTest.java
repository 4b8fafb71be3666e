package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class SpiffeIdAllowListTest {

  private static final String SETTING = "grpc.tls.allowed_spiffe_ids";

  @ParameterizedTest(name = "{0} allows {1}: {2}")
  @CsvSource(delimiter = '|', value = {
      // exact
      "spiffe://cluster.local/ns/foo/sa/bar         | spiffe://cluster.local/ns/foo/sa/bar          | true",
      "spiffe://cluster.local/ns/foo/sa/bar         | spiffe://cluster.local/ns/foo/sa/bar2         | false",
      "spiffe://cluster.local/ns/foo/sa/bar         | spiffe://cluster.local/ns/foo/sa/ba           | false",
      "spiffe://cluster.local/ns/foo/sa/bar         | spiffe://other.local/ns/foo/sa/bar            | false",
      "spiffe://cluster.local/ns/foo/sa/bar         | spiffe://cluster.local/ns/foo/sa/bar/x        | false",
      // prefix: everything strictly below the path
      "spiffe://cluster.local/ns/istio-system/*     | spiffe://cluster.local/ns/istio-system/sa/gw  | true",
      "spiffe://cluster.local/ns/istio-system/*     | spiffe://cluster.local/ns/istio-system/a/b/c  | true",
      "spiffe://cluster.local/ns/istio-system/*     | spiffe://cluster.local/ns/istio-system        | false",
      "spiffe://cluster.local/ns/istio-system/*     | spiffe://cluster.local/ns/istio-systemx/sa/gw | false",
      "spiffe://cluster.local/ns/istio-system/*     | spiffe://evil.local/ns/istio-system/sa/gw     | false",
      "spiffe://cluster.local/*                     | spiffe://cluster.local/anything               | true",
      "spiffe://cluster.local/*                     | spiffe://cluster.localx/anything              | false",
      // several entries
      "spiffe://a.local/x,spiffe://b.local/ns/*     | spiffe://b.local/ns/y                         | true",
      "spiffe://a.local/x,spiffe://b.local/ns/*     | spiffe://a.local/y                            | false",
  })
  void matches(String entries, String peer, boolean allowed) throws Exception {
    SpiffeIdAllowList list = SpiffeIdAllowList.parse(SETTING, Arrays.asList(entries.split(",")));
    assertThat(list.allows(SpiffeId.parse(peer))).isEqualTo(allowed);
    assertThat(list.isEmpty()).isFalse();
  }

  @Test
  void emptyListAllowsAnyAuthenticatedPeer() throws Exception {
    SpiffeIdAllowList list = SpiffeIdAllowList.parse(SETTING, List.of());
    assertThat(list.isEmpty()).isTrue();
    assertThat(list.allows(SpiffeId.parse("spiffe://anything.example/w"))).isTrue();
    assertThat(list).isEqualTo(SpiffeIdAllowList.ANY_AUTHENTICATED);
  }

  static Stream<Arguments> invalidEntries() {
    String star = "is not a valid entry: '*' is allowed only as the whole last path segment, as in spiffe://cluster.local/ns/foo/*";
    return Stream.of(
        Arguments.of("spiffe://cluster.local/ns/*/sa/bar", star),
        Arguments.of("spiffe://cluster.local/ns/foo*", star),
        Arguments.of("spiffe://cluster.local/ns/**", star),
        Arguments.of("*", star),
        Arguments.of("spiffe://*", star),
        Arguments.of("", "is not a valid SPIFFE ID: is empty"),
        Arguments.of("http://cluster.local/ns/foo", "is not a valid SPIFFE ID: scheme must be \"spiffe://\" (lowercase)"),
        Arguments.of("spiffe://Cluster.local/ns/foo", "is not a valid SPIFFE ID: trust domain may contain only lowercase"
            + " letters, digits, '.', '-' and '_'; found 'C' at position 1"),
        Arguments.of("spiffe://cluster.local/ns/foo/", "is not a valid SPIFFE ID: path must not end with '/'"),
        Arguments.of("spiffe://cluster.local//*", "is not a valid SPIFFE ID: path must not end with '/'"),
        Arguments.of("spiffe:///*", "is not a valid SPIFFE ID: trust domain is missing"),
        Arguments.of("spiffe://cluster.local", "names a trust domain, which no workload has;"
            + " write spiffe://cluster.local/* to allow every workload in it"));
  }

  @ParameterizedTest
  @MethodSource("invalidEntries")
  void invalidEntryIsNamedWithTheRuleItBreaks(String entry, String message) {
    assertThatThrownBy(() -> SpiffeIdAllowList.parse(SETTING, List.of("spiffe://cluster.local/ok", entry)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors())
            .containsExactly(new ConfigError("config", 0, 0, SETTING + "[1]", "\"" + entry + "\" " + message)));
  }

  @Test
  void reportsEveryBadEntryAtOnce() {
    assertThatThrownBy(() -> SpiffeIdAllowList.parse(SETTING,
            List.of("spiffe://td/a/*/b", "spiffe://td/ok", "nope", "spiffe://td")))
        .hasMessage(String.join("\n",
            "config: grpc.tls.allowed_spiffe_ids[0]: \"spiffe://td/a/*/b\" is not a valid entry: '*' is allowed only"
                + " as the whole last path segment, as in spiffe://cluster.local/ns/foo/*",
            "config: grpc.tls.allowed_spiffe_ids[2]: \"nope\" is not a valid SPIFFE ID: scheme must be \"spiffe://\" (lowercase)",
            "config: grpc.tls.allowed_spiffe_ids[3]: \"spiffe://td\" names a trust domain, which no workload has;"
                + " write spiffe://td/* to allow every workload in it"));
  }
}

package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The table of istio/istio {@code pilot/pkg/security/trustdomain/bundle_test.go} {@code TestReplaceTrustDomainAliases}. */
class RbacTrustDomainsTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(List.of("cluster.local"), List.of("cluster.local/ns/foo/sa/bar"), List.of("cluster.local/ns/foo/sa/bar")),
        Arguments.of(List.of("cluster.local"), List.of("*"), List.of("*")),
        Arguments.of(List.of("cluster.local"), List.of("*/ns/foo/sa/bar"), List.of("*/ns/foo/sa/bar")),
        Arguments.of(List.of("td2", "td1"), List.of("td1/ns/foo/sa/bar"), List.of("td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar")),
        Arguments.of(List.of("td1", "cluster.local"), List.of("cluster.local/ns/foo/sa/bar", "cluster.local/ns/yyy/sa/zzz"),
            List.of("td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar", "td1/ns/yyy/sa/zzz", "cluster.local/ns/yyy/sa/zzz")),
        Arguments.of(List.of("td1", "cluster.local"), List.of("*/ns/foo/sa/bar", "*sa/zzz", "*"),
            List.of("*/ns/foo/sa/bar", "*sa/zzz", "*")),
        Arguments.of(List.of("td2", "td1", "cluster.local"), List.of("cluster.local/ns/foo/sa/bar", "td1/ns/yyy/sa/zzz"),
            List.of("td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar", "td2/ns/yyy/sa/zzz",
                "td1/ns/yyy/sa/zzz", "cluster.local/ns/yyy/sa/zzz")),
        Arguments.of(List.of("td2", "foo-td1", "cluster.local"), List.of("*-td1/ns/foo/sa/bar"),
            List.of("td2/ns/foo/sa/bar", "*-td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar")),
        Arguments.of(List.of("td1", "td2"), List.of("some-td/ns/foo/sa/bar"), List.of("some-td/ns/foo/sa/bar")),
        Arguments.of(List.of("td1", "td2", "some-td"), List.of("some-td/ns/foo/sa/bar"),
            List.of("td1/ns/foo/sa/bar", "td2/ns/foo/sa/bar", "some-td/ns/foo/sa/bar")),
        Arguments.of(List.of("new-td", "td2", "td3"), List.of("td1/ns/some-ns/sa/some-sa", "td2/ns/foo/sa/bar"),
            List.of("td1/ns/some-ns/sa/some-sa", "new-td/ns/foo/sa/bar", "td2/ns/foo/sa/bar", "td3/ns/foo/sa/bar")),
        Arguments.of(List.of("new-td", "td2", "td3"), List.of("/ns/some-ns/sa/some-sa"), List.of("/ns/some-ns/sa/some-sa")),
        Arguments.of(List.of("new-td", "old-td"), List.of("*-td/ns/some-ns/sa/some-sa"), List.of("*-td/ns/some-ns/sa/some-sa")));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void replaceTrustDomainAliases(List<String> trustDomains, List<String> principals, List<String> expected) {
    assertThat(new RbacTrustDomains(trustDomains).replaceTrustDomainAliases(principals)).isEqualTo(expected);
  }
}

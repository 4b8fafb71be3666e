package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Config validation: a golden file of every error in a file with many mistakes, and one check per
 * upstream rule, with the message upstream's test/config/config_test.go expects.
 */
class ConfigErrorsTest {

  @Test
  void everyMistakeOfAFileAtOnceWithPositions() throws Exception {
    String yaml = resource("errors/several_mistakes.yaml");
    String expected = resource("errors/several_mistakes.expected");
    assertThatThrownBy(() -> RateLimitConfig.parse("several_mistakes.yaml", yaml))
        .isInstanceOf(ConfigException.class)
        .extracting(e -> render(((ConfigException) e).errors()))
        .isEqualTo(expected.strip());
  }

  /** Each upstream validation rule alone: the YAML, the key path and the message fragment. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      empty domain (TestEmptyDomain)             | 'domain: ""\\ndescriptors: []'                                                     | domain | config file cannot have empty domain
      missing domain                            | 'descriptors: []'                                                                  | domain | config file cannot have empty domain
      empty key (TestEmptyKey)                  | 'domain: d\\ndescriptors:\\n  - key: ""'                                              | descriptors[0].key | descriptor has empty key
      bad unit (TestBadLimitUnit)               | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: foo, requests_per_unit: 1}' | descriptors[0].rate_limit.unit | invalid rate limit unit 'foo'
      missing unit                              | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {requests_per_unit: 1}'    | descriptors[0].rate_limit.unit | invalid rate limit unit ''
      unlimited with unit (unlimited_with_unit.yaml) | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unlimited: true, unit: second}' | descriptors[0].rate_limit.unit | should not specify rate limit unit when unlimited
      misspelled key (TestMisspelledKey)        | 'domain: d\\ndescriptors:\\n  - key: k\\n    ratelimit: {unit: second}'             | descriptors[0].ratelimit | config error, unknown key 'ratelimit'
      misspelled key 2 (TestMisspelledKey)      | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, requestsperunit: 5}' | descriptors[0].rate_limit.requestsperunit | config error, unknown key 'requestsperunit'
      non-map list (TestNonMapList)             | 'domain: d\\ndescriptors:\\n  - a'                                                   | descriptors[0] | list of type other than map
      duplicate key (TestDuplicateKey)          | 'domain: test-domain\\ndescriptors:\\n  - {key: key1, value: value1}\\n  - {key: key1, value: value1}' | descriptors[1] | duplicate descriptor composite key 'test-domain.key1_value1'
      duplicate key-only                        | 'domain: d\\ndescriptors:\\n  - {key: k}\\n  - {key: k}'                             | descriptors[1] | duplicate descriptor composite key 'd.k'
      empty replaces (replaces_empty.yaml)      | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, replaces: [{name: ""}]}' | descriptors[0].rate_limit.replaces[0].name | should not have an empty replaces entry
      self replaces (replaces_self.yaml)        | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, name: n, replaces: [{name: n}]}' | descriptors[0].rate_limit.replaces[0].name | replaces should not contain name of same descriptor
      bad yaml (TestBadYaml)                    | 'domain: d\\ndescriptors: [\\n'                                                     | '' | syntax error
      unknown algorithm                         | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, algorithm: leaky}' | descriptors[0].rate_limit.algorithm | unknown algorithm 'leaky'
      burst without token bucket                | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, burst: 5}'  | descriptors[0].rate_limit.burst | burst applies only to algorithm: token_bucket
      bad window                                | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, window: 5d}' | descriptors[0].rate_limit.window | invalid window '5d'
      fractional window                         | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, window: 1.5s}' | descriptors[0].rate_limit.window | positive whole number of seconds
      requests_per_unit over uint32             | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, requests_per_unit: 4294967296}' | descriptors[0].rate_limit.requests_per_unit | must be an integer between 0 and 4294967295
      sliding window beyond exact arithmetic    | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: second, algorithm: sliding_window, window: 50000h}' | descriptors[0].rate_limit.window | sliding_window allows windows up to 137438952 s, found 180000000 s
      token bucket beyond exact arithmetic      | 'domain: d\\ndescriptors:\\n  - key: k\\n    rate_limit: {unit: year, requests_per_unit: 300000, algorithm: token_bucket}' | descriptors[0].rate_limit.algorithm | token_bucket needs burst (or requests_per_unit) times the window in milliseconds below 2^53
      share_threshold not yet                   | 'domain: d\\ndescriptors:\\n  - key: k\\n    value: a*\\n    share_threshold: true' | descriptors[0].share_threshold | not supported yet
      """)
  void oneRule(String name, String yaml, String path, String message) {
    String text = yaml.replace("\\n", "\n");
    assertThatThrownBy(() -> RateLimitConfig.parse("f.yaml", text))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors())
            .anySatisfy(error -> {
              assertThat(error.path()).isEqualTo(path);
              assertThat(error.message()).contains(message);
              assertThat(error.line()).isPositive();
            }));
  }

  @Test
  void duplicateDomainAcrossFiles() {
    // TestDuplicateDomain: "duplicate domain 'test-domain' in config file", reported at the second file.
    LinkedHashMap<String, String> files = new LinkedHashMap<>();
    files.put("a.yaml", "domain: test-domain\ndescriptors: []\n");
    files.put("b.yaml", "# second\ndomain: test-domain\n");
    assertThatThrownBy(() -> RateLimitConfig.parse(files))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(render(e.errors())).isEqualTo(
            "b.yaml:2:9: domain: duplicate domain 'test-domain' in config file, first defined at a.yaml:1:9"));
  }

  @Test
  void extensionsThatAreValidLoad() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("ext.yaml", """
        domain: d
        descriptors:
          - key: a
            rate_limit: {unit: second, requests_per_unit: 5, algorithm: token_bucket, burst: 10}
          - key: b
            rate_limit: {unit: minute, requests_per_unit: 5, algorithm: sliding_window, window: 5m}
          - key: c
            detailed_metric: true
            rate_limit: {unit: HOUR, requests_per_unit: 5, algorithm: fixed_window}
        """);
    assertThat(config.getLimit("d", Descriptor.of("a", "x")))
        .extracting(RateLimit::algorithm, RateLimit::burst, RateLimit::windowSeconds)
        .containsExactly(Algorithm.TOKEN_BUCKET, 10L, 1L);
    assertThat(config.getLimit("d", Descriptor.of("b", "x")))
        .extracting(RateLimit::algorithm, RateLimit::windowSeconds)
        .containsExactly(Algorithm.SLIDING_WINDOW, 300L);
    assertThat(config.getLimit("d", Descriptor.of("c", "x")).detailedMetric()).isTrue();
  }

  @Test
  void loadsADirectoryRecursivelyYamlAndYmlOnly(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("one.yaml"), "domain: one\ndescriptors: [{key: k, rate_limit: {unit: second, requests_per_unit: 1}}]\n");
    Files.writeString(dir.resolve("sub/two.yml"), "domain: two\n");
    Files.writeString(dir.resolve("notes.txt"), "not yaml: [");
    RateLimitConfig config = RateLimitConfig.load(List.of(dir));
    assertThat(config.domains()).containsExactly("one", "two");
  }

  @Test
  void errorsOfSeveralFilesComeTogether(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.yaml"), "domain: ''\n");
    Files.writeString(dir.resolve("b.yaml"), "domain: b\nbogus: 1\n");
    assertThatThrownBy(() -> RateLimitConfig.load(List.of(dir)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors()).extracting(ConfigError::message)
            .containsExactly("config file cannot have empty domain", "config error, unknown key 'bogus'"));
  }

  static String render(List<ConfigError> errors) {
    return errors.stream().map(ConfigError::render).collect(Collectors.joining("\n"));
  }

  static String resource(String name) throws Exception {
    try (var in = ConfigErrorsTest.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}

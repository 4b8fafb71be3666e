package dev.meshguard.core.config;

import static dev.meshguard.core.config.ConfigTesting.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The exact message of every kind of mistake, one input at a time ({@code test.yaml} onto {@link SampleConfig}). */
class ConfigErrorsTest {

  static Stream<Arguments> mistakes() {
    String keys = "admin, audit, data_dir, enabled, failure_mode, limits, log, max_body_bytes, name, "
        + "retry_backoffs, sample_ratio, servers, timeout, trust_domains, workers";
    String duration = "expected a duration such as \"250ms\", \"10s\" or \"1h30m\", found ";
    return Stream.of(
        // Wrong type.
        row("workers: abc", "test.yaml:1:10: workers: expected an integer, found \"abc\""),
        row("workers: 1.5", "test.yaml:1:10: workers: expected an integer, found \"1.5\""),
        row("workers: 0x10", "test.yaml:1:10: workers: expected an integer, found \"0x10\""),
        row("workers: ~", "test.yaml:1:10: workers: expected an integer, found null"),
        row("workers:", "test.yaml:1:9: workers: expected an integer, found null"),
        row("workers: {a: 1}", "test.yaml:1:10: workers: expected an integer, found a mapping"),
        row("enabled: yes", "test.yaml:1:10: enabled: expected a boolean (true or false), found \"yes\""),
        row("sample_ratio: .nan", "test.yaml:1:15: sample_ratio: expected a number, found \".nan\""),
        row("sample_ratio: 1d", "test.yaml:1:15: sample_ratio: expected a number, found \"1d\""),
        row("name: ~", "test.yaml:1:7: name: expected a string, found null"),
        row("name: [a]", "test.yaml:1:7: name: expected a string, found a list"),
        row("data_dir: ''", "test.yaml:1:11: data_dir: expected a path, found \"\""),
        row("data_dir: \"a\\0b\"", "test.yaml:1:11: data_dir: not a valid path: Nul character not allowed, found \"a\\u0000b\""),
        row("admin: 5", "test.yaml:1:8: admin: expected a mapping, found \"5\""),
        row("trust_domains: a.org", "test.yaml:1:16: trust_domains: expected a list, found \"a.org\""),
        row("limits: [a]", "test.yaml:1:9: limits: expected a mapping, found a list"),
        row("5", "test.yaml:1:1: expected a mapping, found \"5\""),
        row("- a", "test.yaml:1:1: expected a mapping, found a list"),
        row("name: \"" + "x\\n".repeat(40) + "\"\nworkers: \"" + "y".repeat(100) + "\"",
            "test.yaml:2:10: workers: expected an integer, found \"" + "y".repeat(60) + "...\""),
        // Out of range: the component's @Range, else the type's.
        row("admin:\n  port: 70000", "test.yaml:2:9: admin.port: must be between 1 and 65535, found 70000"),
        row("admin:\n  port: 0", "test.yaml:2:9: admin.port: must be between 1 and 65535, found 0"),
        row("audit:\n  max_segment_bytes: 0", "test.yaml:2:22: audit.max_segment_bytes: must be at least 1, found 0"),
        row("workers: 3000000000", "test.yaml:1:10: workers: must be between -2147483648 and 2147483647, found 3000000000"),
        row("max_body_bytes: -" + "9".repeat(40), "test.yaml:1:17: max_body_bytes: must be between "
            + "-9223372036854775808 and 9223372036854775807, found -" + "9".repeat(40)),
        row("sample_ratio: 1.5", "test.yaml:1:15: sample_ratio: must be between 0 and 1, found 1.5"),
        row("sample_ratio: -1e999", "test.yaml:1:15: sample_ratio: must be a finite number, found -1e999"),
        row("timeout: 2h", "test.yaml:1:10: timeout: must be between 1ms and 1h, found 2h"),
        row("timeout: 0", "test.yaml:1:10: timeout: must be between 1ms and 1h, found 0"),
        row("audit: {flush_interval: 500ms}", "test.yaml:1:25: audit.flush_interval: must be at least 1s, found 500ms"),
        // Bad duration, bad enum, blank string.
        row("timeout: 10", "test.yaml:1:10: timeout: " + duration + "\"10\" (missing unit after \"10\"; units are ns, us, ms, s, m, h)"),
        row("timeout: 1d", "test.yaml:1:10: timeout: " + duration + "\"1d\" (unknown unit \"d\"; units are ns, us, ms, s, m, h)"),
        row("retry_backoffs: [1s, soon]", "test.yaml:1:22: retry_backoffs[1]: " + duration
            + "\"soon\" (expected a number at position 1)"),
        row("failure_mode: maybe", "test.yaml:1:15: failure_mode: expected one of [fail_open, fail_closed], found \"maybe\""),
        row("log: verbose", "test.yaml:1:6: log: expected one of [debug, info, warn, error], found \"verbose\""),
        row("name: '  '", "test.yaml:1:7: name: must not be blank"),
        // Unknown keys: the allowed keys, sorted, and a suggestion when it looks like a typo.
        row("admni: {}", "test.yaml:1:1: admni: unknown key \"admni\"; did you mean \"admin\"? allowed keys: " + keys),
        row("maxBodyBytes: 1", "test.yaml:1:1: maxBodyBytes: unknown key \"maxBodyBytes\"; did you mean \"max_body_bytes\"? "
            + "allowed keys: " + keys),
        row("zzz: 1", "test.yaml:1:1: zzz: unknown key \"zzz\"; allowed keys: " + keys),
        row("admin:\n  prot: 1", "test.yaml:2:3: admin.prot: unknown key \"prot\"; did you mean \"port\"? allowed keys: host, port, tls"),
        row("admin:\n  tls: {enable: true}",
            "test.yaml:2:9: admin.tls.enable: unknown key \"enable\"; did you mean \"enabled\"? allowed keys: cert_file, enabled"),
        // Records without defaults need their keys; a record's constructor has the last word.
        row("servers:\n  - name: a\n    tls: true", "test.yaml:2:5: servers[0]: missing required key \"port\""),
        row("servers:\n  - ~", "test.yaml:2:5: servers[0]: missing required key \"name\"",
            "test.yaml:2:5: servers[0]: missing required key \"port\"", "test.yaml:2:5: servers[0]: missing required key \"tls\""),
        row("servers: [{name: '', port: 99999, tls: 1}]", "test.yaml:1:18: servers[0].name: must not be blank",
            "test.yaml:1:28: servers[0].port: must be between 1 and 65535, found 99999",
            "test.yaml:1:40: servers[0].tls: expected a boolean (true or false), found \"1\""),
        row("limits:\n  t: {amount: 10, burst: 5}", "test.yaml:2:6: limits.t: burst 5 must not be below amount 10"),
        row("limits:\n  \"a.b\": {amount: x}", "test.yaml:2:19: limits[\"a.b\"].amount: expected an integer, found \"x\""),
        // YAML the binder refuses.
        row("admin:\n  port: 1\n  port: 2", "test.yaml:3:3: admin.port: duplicate key \"port\", first defined at line 2"),
        row("x: &p 1\nworkers: *p", "test.yaml:1:1: x: unknown key \"x\"; allowed keys: " + keys,
            "test.yaml:2:10: workers: YAML aliases are not supported, found \"*p\"; write the value out"),
        row("workers: 1\n---\nworkers: 2", "test.yaml:3:1: only one YAML document is allowed; remove the \"---\" separator"));
  }

  private static Arguments row(String yaml, String... expected) {
    return Arguments.of(yaml, List.of(expected));
  }

  @ParameterizedTest
  @MethodSource("mistakes")
  void reportsExactly(String yaml, List<String> expected) {
    assertThat(errors(yaml)).containsExactlyElementsOf(expected);
  }

  static Stream<Arguments> syntaxErrors() {
    return Stream.of(
        row("admin:\n  port: [1, 2\nname: x",
            "test.yaml:3:5: syntax error: expected ',' or ']', but got : (while parsing a flow sequence at line 2, column 9)"),
        row("admin:\n\tport: 1",
            "test.yaml:2:1: syntax error: found character '\\t(TAB)' that cannot start any token. (Do not use \\t(TAB) "
                + "for indentation) (while scanning for the next token)"),
        row("name: \"open", "test.yaml:1:12: syntax error: found unexpected end of stream (while scanning a quoted scalar "
            + "at line 1, column 7)"),
        row("? [a]\n: 1", "test.yaml:1:4: syntax error: a mapping key must be a scalar, not a list or mapping"),
        row("a: b: c", "test.yaml:1:5: syntax error: mapping values are not allowed here"),
        row("name: x\nlog: \uD83D\uDE00 a\u0007b", "test.yaml:2:9: syntax error: special characters are not allowed, found U+0007"),
        row("name: \"a\u0000\"", "test.yaml:1:9: syntax error: special characters are not allowed, found U+0000"),
        row("admin:\n  port: 1\n bad: 2", "test.yaml:3:2: syntax error: expected <block end>, but found '<block mapping start>' "
            + "(while parsing a block mapping at line 1, column 1)"));
  }

  @ParameterizedTest
  @MethodSource("syntaxErrors")
  void syntaxErrorsHaveLineAndColumn(String yaml, List<String> expected) {
    assertThat(errors(yaml)).containsExactlyElementsOf(expected);
  }

  /** A syntax error stops the read: nothing around it can be trusted, so it comes alone. */
  @Test
  void aSyntaxErrorComesAlone() {
    assertThat(errors("workers: abc\nadmin:\n  port: 1\n  port: 2\na: b: c\n"))
        .containsExactly("test.yaml:5:5: syntax error: mapping values are not allowed here");
  }

  @Test
  void nestingIsCapped() {
    String yaml = "workers: " + "[".repeat(YamlReader.MAX_DEPTH) + "]".repeat(YamlReader.MAX_DEPTH);
    assertThat(errors(yaml)).singleElement().asString()
        .endsWith(": nesting is deeper than " + YamlReader.MAX_DEPTH + " levels");
  }

  @Test
  void allMistakesAreReportedInPositionOrder() {
    assertThat(errors("workers: x\nadmin:\n  port: 0\nenabled: 2\n")).containsExactly(
        "test.yaml:1:10: workers: expected an integer, found \"x\"",
        "test.yaml:3:9: admin.port: must be between 1 and 65535, found 0",
        "test.yaml:4:10: enabled: expected a boolean (true or false), found \"2\"");
  }
}

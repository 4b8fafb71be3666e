package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated YAML, flags and environment values: loading either returns a config or
 * throws {@link ConfigException} with well-formed errors, never anything else. Fixed seeds, so a
 * failure reproduces; the failing input is in the assertion message.
 */
class ConfigFuzzTest {

  private static final String VALID = """
      name: edge-1
      enabled: true
      workers: 8
      sample_ratio: 0.5
      timeout: 1h
      data_dir: data
      failure_mode: fail-open
      log: debug
      trust_domains: [cluster.local, "example.org"]
      retry_backoffs: [100ms, 1s]
      admin:
        host: 0.0.0.0
        port: 9091
        tls: {enabled: true, cert_file: 'a.pem'}
      audit:
        directory: audit
        max_segment_bytes: 1048576
      servers:
        - name: grpc
          port: 8080
          tls: true
          tags: [public]
      limits:
        tenant_a: {amount: 10, burst: 20, window: 1m}
        "odd key": {amount: 1, burst: 1}
      """;

  /** Fragments that mean something to YAML or to the binder. */
  private static final String[] TOKENS = {
      ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", "&a ", "*a", "<<: *a", "!!str ", "!!int ", "!custom ",
      "|", ">-", "'", "\"", "\\", "\n", "\n  ", "\t", "  ", "? ", "---\n", "...\n", "~", "null", "%YAML 1.2\n",
      "@", "`", "\u0000", "\u0007", "\uFEFF", "\uFFFE", "\uD800", "\uD83D\uDE00", "é", "0x1F", "1e999", "-0",
      "9223372036854775808", ".inf", ".nan", "1h30m", "0", "yes", "fail-open", "admin:", "port: ", "servers:",
      "limits:", "name: ", "tls:", "  - ", "&b [*b]", "{a: 1, a: 2}", "[[[[[[", "]]]]]]",
  };

  private final Random random = new Random(20261128L);

  @Test
  void mutatedConfigsOnlyEverBindOrFailWithAConfigException() throws IOException {
    List<String> seeds = List.of(VALID,
        Files.readString(Path.of("src/test/resources/config/invalid/bad.yaml")),
        Files.readString(Path.of("src/test/resources/config/invalid/syntax.yaml")),
        "a: 1", "- x", "");
    int bound = 0;
    for (int i = 0; i < 600; i++) {
      String yaml = seeds.get(random.nextInt(seeds.size()));
      int mutations = 1 + random.nextInt(4);
      for (int m = 0; m < mutations; m++) {
        yaml = mutate(yaml);
      }
      bound += check(yaml, i % 4 == 0 ? randomOverrides() : Map.of(), i % 4 == 1 ? randomEnv() : Map.of()) ? 1 : 0;
    }
    // The loop must exercise both outcomes, or it tests less than it claims.
    assertThat(bound).isBetween(1, 599);
  }

  @Test
  void randomTextOnlyEverBindsOrFailsWithAConfigException() {
    for (int i = 0; i < 300; i++) {
      StringBuilder sb = new StringBuilder();
      int pieces = random.nextInt(30);
      for (int p = 0; p < pieces; p++) {
        sb.append(random.nextBoolean() ? TOKENS[random.nextInt(TOKENS.length)] : randomWord());
      }
      check(sb.toString(), Map.of(), Map.of());
    }
  }

  /** Returns whether it bound. */
  private boolean check(String yaml, Map<String, String> flags, Map<String, String> env) {
    try {
      SampleConfig config = Config.parse(yaml, "fuzz.yaml", Path.of("/etc/meshguard"), SampleConfig.DEFAULTS, flags, env);
      assertThat(config).isNotNull();
      return true;
    } catch (ConfigException e) {
      assertThat(e.errors()).as("input %s", ConfigFuzzTest.quote(yaml)).isNotEmpty().allSatisfy(error -> {
        assertThat(error.line()).isNotNegative();
        assertThat(error.column()).isNotNegative();
        assertThat(error.message()).isNotBlank().doesNotContain("\n");
      });
      return false;
    } catch (RuntimeException | Error e) {
      throw new AssertionError("input " + quote(yaml) + " flags " + flags + " env " + env + " threw " + e, e);
    }
  }

  private String mutate(String yaml) {
    int at = yaml.isEmpty() ? 0 : random.nextInt(yaml.length() + 1);
    List<String> lines = new ArrayList<>(List.of(yaml.split("\n", -1)));
    switch (random.nextInt(7)) {
      case 0 -> {
        return yaml.substring(0, at) + TOKENS[random.nextInt(TOKENS.length)] + yaml.substring(at);
      }
      case 1 -> {
        int end = Math.min(yaml.length(), at + random.nextInt(8));
        return yaml.substring(0, at) + yaml.substring(end);
      }
      case 2 -> {
        return yaml.substring(0, at);
      }
      case 3 -> {
        int line = random.nextInt(lines.size());
        lines.add(line, lines.get(line));
      }
      case 4 -> {
        int a = random.nextInt(lines.size());
        int b = random.nextInt(lines.size());
        String swap = lines.get(a);
        lines.set(a, lines.get(b));
        lines.set(b, swap);
      }
      case 5 -> {
        int line = random.nextInt(lines.size());
        lines.set(line, " ".repeat(random.nextInt(6)) + lines.get(line).strip());
      }
      default -> {
        return yaml.substring(0, at) + randomWord() + yaml.substring(at);
      }
    }
    return String.join("\n", lines);
  }

  private Map<String, String> randomOverrides() {
    List<String> paths = List.copyOf(Schema.of(SampleConfig.class).leavesByPath.keySet());
    Map<String, String> flags = new HashMap<>();
    flags.put(random.nextBoolean() ? paths.get(random.nextInt(paths.size())) : randomWord(), randomValue());
    return flags;
  }

  private Map<String, String> randomEnv() {
    List<String> names = List.copyOf(Schema.of(SampleConfig.class).leavesByEnvName.keySet());
    return Map.of(names.get(random.nextInt(names.size())), randomValue(), "MESHGUARD_" + randomWord(), randomValue());
  }

  private String randomValue() {
    return random.nextBoolean() ? randomWord() : TOKENS[random.nextInt(TOKENS.length)] + randomWord();
  }

  private String randomWord() {
    String alphabet = "abcxyz_-.019 :,sSmhH";
    StringBuilder sb = new StringBuilder();
    for (int n = random.nextInt(8); n > 0; n--) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /** The whole input as a Java string literal, to paste into a regression test. */
  private static String quote(String text) {
    StringBuilder sb = new StringBuilder("\"");
    text.chars().forEach(c -> sb.append(c == '"' || c == '\\' ? "\\" + (char) c
        : c == '\n' ? "\\n" : c < 0x20 || c > 0x7e ? String.format("\\u%04x", c) : String.valueOf((char) c)));
    return sb.append('"').toString();
  }
}

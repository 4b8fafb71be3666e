package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Whatever the input, {@link PolicyLoader#parse} and {@link MeshConfig#parse} either return a
 * value or throw {@link ConfigException} with well-formed errors: never another exception, never
 * a hang. Inputs are valid policies mutated at random (bytes replaced, tokens inserted, cut short,
 * lines moved), random text, deep nesting and huge inputs.
 */
class PolicyParserFuzzTest {

  /** Fragments that mean something to YAML, JSON or the policy schema. */
  private static final List<String> TOKENS = List.of(
      ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", "&a ", "*a", "<<: *a", "!!str ", "!!binary ", "!custom ",
      "|", ">-", "'", "\"", "\\", "\n", "\n  ", "\t", "  ", "? ", "---\n", "...\n", "~", "null", "%YAML 1.2\n", "@",
      "`", "\u0000", "\u0007", "\uFEFF", "\uFFFE", "\uD800", "\uDC00", "\uD83D\uDE00", "é", "0x1F", "1e999", "-0",
      "9223372036854775808", ".inf", "yes", "on", "8080", "\"8080\"", "true", "{}", "[]", "[{}]", "null\n",
      "apiVersion: ", "kind: ", "List", "items:", "AuthorizationPolicy", "RequestAuthentication", "meshguard.dev/v1",
      "security.istio.io/v1beta1", "metadata:", "name: ", "namespace: ", "spec:", "rules:", "from:", "to:", "when:",
      "source:", "operation:", "key: ", "values: ", "notValues: ", "cel: ", "action: DENY", "action: CUSTOM",
      "provider: {name: x}", "selector:", "targetRefs:", "ipBlocks: [\"10.0.0.0/33\"]", "ports: [\"99999\"]",
      "paths: [\"/{**}/{*}\"]", "jwtRules:", "issuer: ", "jwks: '{\"keys\": [{}]}'", "timeout: 0.0001s",
      "istio.io/dry-run: ", "annotations:", "request.headers[", "destination.port", "serviceAccounts: [\"a/b/c\"]",
      "data:", "mesh: |\n  ", "extensionProviders:", "envoyExtAuthzGrpc: {service: x, port: 0}");

  private static final List<String> SEEDS = seeds();

  private static List<String> seeds() {
    List<String> seeds = new ArrayList<>(List.of(
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: full
          namespace: prod
          annotations: {istio.io/dry-run: "true"}
        spec:
          selector: {matchLabels: {app: web}}
          action: DENY
          rules:
          - from:
            - source: {principals: ["cluster.local/ns/a/sa/b"], ipBlocks: ["10.0.0.0/8"], notNamespaces: [b]}
            - source: {serviceAccounts: [a/b]}
            to:
            - operation: {hosts: ["*.example.com"], ports: ["8080"], methods: [GET], paths: ["/api/{**}"]}
            when:
            - key: request.headers[x-token]
              values: ["abc*"]
              notValues: ["bad"]
            - key: destination.port
              values: ["443"]
        """,
        """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: meshguard.dev/v1
          kind: AuthorizationPolicy
          metadata: {name: cel}
          spec:
            targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
            rules: [{when: [{cel: "request.path == '/'"}]}]
        - apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: {name: jwt}
          spec:
            jwtRules:
            - issuer: https://issuer
              jwksUri: https://issuer/jwks
              fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
              outputClaimToHeaders: [{header: x-sub, claim: sub}]
              timeout: 5s
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        """,
        """
        {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "j"},
         "spec": {"action": "CUSTOM", "provider": {"name": "ext"}, "rules": [{"to": [{"operation": {"paths": ["/a"]}}]}]}}
        """,
        """
        apiVersion: v1
        kind: ConfigMap
        data:
          mesh: |-
            rootNamespace: istio-config
            trustDomain: td1
            extensionProviders:
            - name: ext
              envoyExtAuthzHttp: {service: ext.foo.svc.cluster.local, port: 8000, pathPrefix: /check, timeout: 0.5s}
        """,
        "", "a: 1", "- x"));
    try (Stream<Path> files = Files.list(Path.of("src/test/resources/invalid"))) {
      files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".json")).sorted().forEach(f -> {
        try {
          seeds.add(Files.readString(f));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return List.copyOf(seeds);
  }

  /** One edit of a text; positions are fractions of its length so they fit any text. */
  private record Mutation(int kind, double where, double extent, String insert) {
    String apply(String text) {
      int at = Math.min(text.length(), (int) (where * text.length()));
      List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
      int line = Math.min(lines.size() - 1, (int) (where * lines.size()));
      return switch (kind) {
        case 0, 1 -> text.substring(0, at) + insert + text.substring(at);
        case 2 -> text.substring(0, at) + text.substring(Math.min(text.length(), at + (int) (extent * 16)));
        case 3 -> text.substring(0, at);
        case 4 -> text.isEmpty() ? insert : text.substring(0, Math.min(at, text.length() - 1)) + insert
            + text.substring(Math.min(at, text.length() - 1) + 1);
        case 5 -> {
          lines.add(line, lines.get(line));
          yield String.join("\n", lines);
        }
        case 6 -> {
          int other = Math.min(lines.size() - 1, (int) (extent * lines.size()));
          String swap = lines.get(line);
          lines.set(line, lines.get(other));
          lines.set(other, swap);
          yield String.join("\n", lines);
        }
        default -> {
          lines.set(line, " ".repeat((int) (extent * 7)) + lines.get(line).strip());
          yield String.join("\n", lines);
        }
      };
    }
  }

  @Provide
  Arbitrary<String> mutatedPolicies() {
    Arbitrary<String> insert = Arbitraries.oneOf(
        Arbitraries.of(TOKENS),
        Arbitraries.strings().all().ofMaxLength(12),
        Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(12));
    Arbitrary<Mutation> mutation = Combinators.combine(Arbitraries.integers().between(0, 7),
        Arbitraries.doubles().between(0, 1).ofScale(4), Arbitraries.doubles().between(0, 1).ofScale(4), insert)
        .as(Mutation::new);
    return Combinators.combine(Arbitraries.of(SEEDS), mutation.list().ofMinSize(1).ofMaxSize(6))
        .as((seed, mutations) -> {
          String text = seed;
          for (Mutation m : mutations) {
            text = m.apply(text);
          }
          return text;
        });
  }

  @Property(tries = 1000)
  void mutatedPoliciesLoadOrFailWithAConfigException(@ForAll("mutatedPolicies") String text) {
    check(text);
  }

  @Property(tries = 300)
  void randomTextLoadsOrFailsWithAConfigException(@ForAll String text) {
    check(text);
  }

  @Property(tries = 200)
  void randomTokenSoupLoadsOrFailsWithAConfigException(
      @ForAll("tokenSoup") String text) {
    check(text);
  }

  @Provide
  Arbitrary<String> tokenSoup() {
    return Arbitraries.of(TOKENS).list().ofMaxSize(60).map(tokens -> String.join("", tokens));
  }

  @Property(tries = 40)
  void deepNestingIsRefusedWithAConfigException(@ForAll @IntRange(min = 1, max = 3000) int depth,
      @ForAll boolean flow) {
    String nested = flow ? "[".repeat(depth) + "]".repeat(depth) : nestedBlock(depth);
    check("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deep}\nspec:\n  rules: "
        + (flow ? nested : "\n" + nested));
    check("{\"spec\": " + "[".repeat(depth) + "]".repeat(depth) + "}");
  }

  private static String nestedBlock(int depth) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(depth, 400); i++) {
      sb.append("  ".repeat(i + 1)).append("- k:\n");
    }
    return sb.toString();
  }

  @Property(tries = 6)
  void hugeInputsAreReadOrRefused(@ForAll @IntRange(min = 1, max = 5000) int rules,
      @ForAll @IntRange(min = 1, max = 2_000_000) int valueLength) {
    StringBuilder sb = new StringBuilder("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: huge}
        spec:
          rules:
        """);
    for (int i = 0; i < rules; i++) {
      sb.append("  - to: [{operation: {paths: [\"/p").append(i).append("\"]}}]\n");
    }
    sb.append("  - from: [{source: {principals: [\"").append("x".repeat(valueLength)).append("\"]}}]\n");
    // No wall-clock bound here: speed is measured in bench/, not in tests on a shared machine.
    boolean loaded = check(sb.toString());
    assertThat(loaded).isEqualTo(rules + 1 <= AuthorizationPolicyReader.MAX_RULES);
  }

  @Property(tries = 300)
  void mutatedMeshConfigsLoadOrFailWithAConfigException(@ForAll("mutatedPolicies") String text) {
    for (String name : List.of("mesh.yaml", "mesh.json")) {
      try {
        assertThat(MeshConfig.parse(name, text)).isNotNull();
      } catch (ConfigException e) {
        wellFormed(e, text);
      } catch (RuntimeException | Error e) {
        throw new AssertionError("MeshConfig input " + quote(text) + " threw " + e, e);
      }
    }
  }

  /** Parses as YAML and as JSON; returns whether the YAML form loaded. */
  private static boolean check(String text) {
    boolean loaded = false;
    for (String name : List.of("fuzz.yaml", "fuzz.json")) {
      try {
        PolicySet set = PolicyLoader.parse(name, text);
        assertThat(set.revision()).matches("[0-9a-f]{64}");
        assertThat(set.authorizationPolicies()).doesNotContainNull();
        loaded |= name.endsWith(".yaml");
      } catch (ConfigException e) {
        wellFormed(e, text);
      } catch (RuntimeException | Error e) {
        throw new AssertionError("input " + quote(text) + " as " + name + " threw " + e, e);
      }
    }
    return loaded;
  }

  private static void wellFormed(ConfigException e, String text) {
    assertThat(e.errors()).as("input %s", quote(text)).isNotEmpty().allSatisfy(error -> {
      assertThat(error.line()).isNotNegative();
      assertThat(error.column()).isNotNegative();
      assertThat(error.message()).isNotBlank().doesNotContain("\n");
    });
  }

  /** The input as a Java string literal (cut when long), to paste into a regression test. */
  private static String quote(String text) {
    String cut = text.length() > 4000 ? text.substring(0, 4000) : text;
    StringBuilder sb = new StringBuilder("\"");
    cut.chars().forEach(c -> sb.append(c == '"' || c == '\\' ? "\\" + (char) c
        : c == '\n' ? "\\n" : c < 0x20 || c > 0x7e ? String.format(Locale.ROOT, "\\u%04x", c)
        : String.valueOf((char) c)));
    return sb.append(cut.length() < text.length() ? "\"..." : "\"").toString();
  }
}

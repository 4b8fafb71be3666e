package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.meshguard.policy.ConformanceTable.Case;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Does meshguard decide every request the way Istio would? Each row of the conformance table
 * (src/test/resources/conformance, format in its README.md) gives policies exactly as users write
 * them, an Envoy {@code CheckRequest} in protobuf JSON form, and the decision the cited Istio
 * source (docs, istio/istio code, builder testdata, integration tests) implies. The row goes
 * through the same path as the server: {@link PolicyLoader#parse}, {@link
 * CheckRequestAttributes#from}, {@link PolicyEngine#compile} and {@link PolicyEngine#evaluate}.
 *
 * <p>The expectations are written from the cited sources, never from meshguard's output: when a
 * row fails, either the row misreads its source (fix the row and say why in the commit) or the
 * evaluator is wrong (fix the evaluator). Never change an expected value to make a test pass.
 */
class IstioConformanceTest {

  /**
   * Every source field and condition key the issue names; each must have a positive ({@code +}:
   * the term is true for the request) and a negative ({@code -}) case, so the table cannot
   * silently shrink. {@code experimental.envoy.filters}: {@code +} means the request carries
   * metadata Envoy would match (meshguard still never matches it).
   */
  static final List<String> COVERED = List.of(
      "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals",
      "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks",
      "serviceAccounts", "notServiceAccounts",
      "hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths",
      "request.headers", "source.ip", "remote.ip", "source.namespace", "source.principal",
      "request.auth.principal", "request.auth.audiences", "request.auth.presenter",
      "request.auth.claims", "request.auth.claims[nested]", "request.auth.claims[list]",
      "source.serviceAccount", "destination.ip", "destination.port", "connection.sni",
      "experimental.envoy.filters");

  private static final int MINIMUM_CASES = 150;

  @TestFactory
  Stream<DynamicNode> decidesLikeIstio() {
    Map<String, List<DynamicNode>> byFile = new TreeMap<>();
    for (Case c : ConformanceTable.load()) {
      byFile.computeIfAbsent(c.file(), f -> new ArrayList<>())
          .add(DynamicTest.dynamicTest(c.name(), ConformanceTable.DIR.resolve(c.file()).toUri(), () -> check(c)));
    }
    return byFile.entrySet().stream()
        .map(e -> DynamicContainer.dynamicContainer(e.getKey(), e.getValue().stream()));
  }

  private static void check(Case c) throws Exception {
    MeshConfig mesh = c.meshConfig();
    PolicySet set = PolicyLoader.parse(c.file() + "#" + c.name(), c.policies());
    RequestAttributes attributes = CheckRequestAttributes.from(c.checkRequest(), mesh);
    RecordingDecider custom = new RecordingDecider(c.custom());
    Decision decision = PolicyEngine.compile(set, mesh).evaluate(attributes, custom);

    JsonNode expect = c.expect();
    Map<String, Object> expected = new LinkedHashMap<>();
    Map<String, Object> actual = new LinkedHashMap<>();
    expected.put("decision", expect.path("decision").asText());
    actual.put("decision", decision.outcome().name());
    expected.put("policy", expect.path("policy").isNull() ? null : expect.path("policy").asText());
    actual.put("policy", decision.policy());
    if (expect.has("rule")) {
      expected.put("rule", expect.path("rule").asInt());
      actual.put("rule", decision.rule());
    }
    List<String> expectedAudit = new ArrayList<>();
    expect.path("audit").forEach(a -> expectedAudit.add(a.asText()));
    expected.put("audit", expectedAudit);
    actual.put("audit", decision.audit());
    List<Map<String, String>> expectedDryRun = new ArrayList<>();
    expect.path("dry_run").forEach(d -> expectedDryRun.add(
        Map.of("policy", d.path("policy").asText(), "decision", d.path("decision").asText())));
    expected.put("dry_run", expectedDryRun);
    actual.put("dry_run", decision.dryRun().stream()
        .map(d -> Map.of("policy", d.policy(), "decision", d.decision().name())).toList());
    List<String> expectedCustom = new ArrayList<>();
    expect.path("custom").forEach(p -> expectedCustom.add(p.asText()));
    expected.put("custom", expectedCustom);
    actual.put("custom", decision.custom());
    // The decider must be asked exactly when a CUSTOM rule matched, as Istio's ext_authz filter is.
    expected.put("providers_asked", expectedCustom);
    actual.put("providers_asked", custom.asked());

    assertThat(actual)
        .as("%s%n  source: %s%n  reason: %s", c.where(), c.source(), decision.reason())
        .isEqualTo(expected);
  }

  @Test
  void tableHasEnoughCasesAndCoversEveryFieldAndKeyBothWays() {
    List<Case> cases = ConformanceTable.load();
    assertThat(cases).as("conformance cases in %s", ConformanceTable.DIR).hasSizeGreaterThanOrEqualTo(MINIMUM_CASES);

    Set<String> names = new TreeSet<>();
    Map<String, Set<Character>> seen = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    for (Case c : cases) {
      if (!names.add(c.name())) {
        problems.add(c.where() + ": duplicate name");
      }
      if (c.source().isBlank()) {
        problems.add(c.where() + ": no source cited");
      }
      try {
        c.checkRequest();
        c.meshConfig();
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
      Set<String> used = UsedFields.of(c);
      for (String tag : c.covers()) {
        char polarity = tag.charAt(tag.length() - 1);
        String field = tag.substring(0, tag.length() - 1);
        if ((polarity != '+' && polarity != '-') || !COVERED.contains(field)) {
          problems.add(c.where() + ": unknown covers tag " + tag);
        } else if (!used.contains(field)) {
          problems.add(c.where() + ": covers " + tag + " but its policies (and request) do not use " + field);
        } else {
          seen.computeIfAbsent(field, f -> new TreeSet<>()).add(polarity);
        }
      }
    }
    for (String field : COVERED) {
      Set<Character> polarities = seen.getOrDefault(field, Set.of());
      if (!polarities.contains('+')) {
        problems.add("no positive case for " + field);
      }
      if (!polarities.contains('-')) {
        problems.add("no negative case for " + field);
      }
    }
    assertThat(problems).as("conformance table problems").isEmpty();
  }

  /** The CUSTOM providers' answers of a case (allow unless the case says DENY), and who was asked. */
  private static final class RecordingDecider implements CustomDecider {
    private final Map<String, Outcome> answers;
    private final List<String> asked = new ArrayList<>();

    RecordingDecider(Map<String, Outcome> answers) {
      this.answers = answers;
    }

    @Override
    public boolean allows(String provider) {
      if (!asked.contains(provider)) {
        asked.add(provider);
      }
      return answers.getOrDefault(provider, Outcome.ALLOW) == Outcome.ALLOW;
    }

    List<String> asked() {
      return List.copyOf(asked);
    }
  }
}

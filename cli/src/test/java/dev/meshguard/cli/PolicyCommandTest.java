package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code meshguard policy ...} run in-process, against the example policies in policies/authz. */
class PolicyCommandTest {
  /** The examples, relative to the cli module (where Maven runs its tests). */
  static final Path EXAMPLES = Path.of("..", "policies", "authz");
  static final Path MESH = EXAMPLES.resolve("istio-system/mesh-config.yaml");

  /** The frontend asks the stock service for a debug endpoint: the mesh-wide DENY in istio-system decides. */
  static final String DEBUG_REQUEST = """
      {"attributes": {
        "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend",
                   "address": {"socketAddress": {"address": "10.1.0.7", "portValue": 51234}}},
        "destination": {"address": {"socket_address": {"address": "10.2.0.9", "port_value": 8080}}},
        "request": {"http": {"method": "GET", "host": "stock.inventory:8080", "path": "/debug/pprof/heap",
                             "headers": {"user-agent": "curl/8.5"}}},
        "context_extensions": {"namespace": "inventory", "labels": "app=stock"}
      }}
      """;

  /** orders creates a charge for a client outside the private network: allowed, the dry-run policy would deny. */
  static final String CHARGE_REQUEST = """
      {"attributes": {
        "source": {"principal": "spiffe://cluster.local/ns/shop/sa/orders",
                   "address": {"socketAddress": {"address": "10.4.0.12", "portValue": 40000}}},
        "destination": {"principal": "spiffe://cluster.local/ns/shop/sa/payments",
                        "address": {"socketAddress": {"address": "10.4.0.20", "portValue": 8080}}},
        "request": {"http": {"method": "DELETE", "host": "payments", "path": "/charges",
                             "headers": {"x-forwarded-for": "203.0.113.7"}}},
        "context_extensions": {"labels": "app=payments"}
      }}
      """;

  @TempDir
  Path dir;

  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  private int runWithStdin(String stdin, String... args) {
    InputStream saved = System.in;
    System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    try {
      return run(args);
    } finally {
      System.setIn(saved);
    }
  }

  private Path write(String name, String content) throws Exception {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    return file;
  }

  private static String oneLine(String json) {
    return json.replaceAll("\\s*\\n\\s*", " ");
  }

  // --- validate ---------------------------------------------------------------------------------

  @Test
  void validateAcceptsTheExamples() {
    assertThat(run("policy", "validate", EXAMPLES.toString())).as(err.toString()).isZero();
    assertThat(out.toString()).matches("OK: 9 AuthorizationPolicies, 1 RequestAuthentication; revision [0-9a-f]{64} \\(1 warning\\)\n");
    // The demo DENY policy uses only HTTP attributes: Istio's webhook warns, and so do we.
    assertThat(err.toString()).startsWith("warning: ").contains("demo.yaml:13:7: spec.rules[0]: ")
        .contains("will deny all traffic to TCP ports");
    // The mesh config ConfigMap and the test files are other kinds: skipped, listed with -v.
    assertThat(run("policy", "validate", "-v", EXAMPLES.toString())).isZero();
    assertThat(err.toString()).contains("skipped ConfigMap istio-system/istio").contains("skipped PolicyTest");
  }

  @Test
  void validateReportsEveryErrorWithItsPositionAndExitsOne() throws Exception {
    Path bad = write("bad.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: bad
          namespace: shop
        spec:
          action: DENY
          rules:
          - from:
            - source:
                ipBlocks: ["10.0.0.300"]
            to:
            - operation:
                ports: ["http"]
        """);
    assertThat(run("policy", "validate", bad.toString())).isEqualTo(1);
    assertThat(out.toString()).isEmpty();
    String errors = err.toString();
    assertThat(errors).contains(bad + ":11:").contains("spec.rules[0].from[0].source.ipBlocks[0]");
    assertThat(errors).contains(bad + ":14:").contains("spec.rules[0].to[0].operation.ports[0]");
    assertThat(errors).endsWith("2 errors\n");
  }

  @Test
  void validateCompilesCelConditions() throws Exception {
    Path cel = write("cel.yaml", """
        apiVersion: meshguard.dev/v1
        kind: AuthorizationPolicy
        metadata: {name: cel, namespace: shop}
        spec:
          action: DENY
          rules:
          - when:
            - cel: 'request.method + 1'
        """);
    assertThat(run("policy", "validate", cel.toString())).isEqualTo(1);
    assertThat(err.toString()).containsPattern(java.util.regex.Pattern.quote(cel.toString()) + ":[78]:\\d+: ")
        .contains("spec.rules[0].when[0].cel: CEL ").contains("(policy shop/cel)").endsWith("1 error\n");
  }

  @Test
  void aMissingPathIsAnError() {
    assertThat(run("policy", "validate", dir.resolve("nope").toString())).isEqualTo(1);
    assertThat(err.toString()).contains(dir.resolve("nope") + ": no such file or directory");
  }

  // --- check ------------------------------------------------------------------------------------

  @Test
  void checkPrintsExactlyTheDecisionObject() throws Exception {
    Path request = write("debug.json", DEBUG_REQUEST);
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", request.toString()))
        .as(err.toString()).isZero();
    String line = out.toString();
    assertThat(line).endsWith("}\n").doesNotContain("\n{");
    assertThat(line).startsWith("{\"decision\":\"DENY\",\"policy\":\"istio-system/deny-debug-endpoints\","
        + "\"action\":\"DENY\",\"rule\":0,\"audit\":[],\"dry_run\":[],\"custom\":[],\"reason\":\"");
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(fieldNames(json)).containsExactly("decision", "policy", "action", "rule", "audit", "dry_run", "custom",
        "reason");
    assertThat(json.get("reason").asText()).contains("istio-system/deny-debug-endpoints");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void checkReportsDryRunAuditAndNullsWhenNoPolicyDecides() throws Exception {
    // Allowed by shop/payments? No: DELETE is not POST. No ALLOW policy matches, so DENY without a
    // deciding policy; the AUDIT policy and the dry-run policy are reported alongside.
    assertThat(runWithStdin(CHARGE_REQUEST, "policy", "check", "--policies", EXAMPLES.toString(),
        "--mesh-config", MESH.toString(), "--request", "-")).as(err.toString()).isZero();
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(out.toString()).startsWith("{\"decision\":\"DENY\",\"policy\":null,\"action\":null,\"rule\":null,"
        + "\"audit\":[\"shop/audit-deletes\"],"
        + "\"dry_run\":[{\"policy\":\"shop/payments-private-clients-only\",\"decision\":\"DENY\"}],"
        + "\"custom\":[],\"reason\":\"");
    assertThat(json.get("reason").asText()).contains("no ALLOW policy matched");
  }

  @Test
  void checkAsksNoProviderOfflineButHonoursProviderDecision() throws Exception {
    Path request = write("admin.json", """
        {"attributes": {
          "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
          "destination": {"address": {"socketAddress": {"address": "10.4.0.30", "portValue": 8080}}},
          "request": {"http": {"method": "POST", "host": "orders", "path": "/admin/reindex"}},
          "metadataContext": {"filterMetadata": {"envoy.filters.http.jwt_authn": {"https://auth.example.com": {
            "iss": "https://auth.example.com", "sub": "carol", "groups": ["support"]}}}},
          "contextExtensions": {"namespace": "shop", "labels": "app=orders"}
        }}
        """);
    String[] base = {"policy", "check", "--policies", EXAMPLES.toString(), "--mesh-config", MESH.toString(),
        "--request", request.toString()};
    assertThat(run(base)).as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("{\"decision\":\"ALLOW\",\"policy\":\"shop/orders\",\"action\":\"ALLOW\","
        + "\"rule\":0,\"audit\":[],\"dry_run\":[],\"custom\":[\"opa\"],");

    List<String> args = new ArrayList<>(List.of(base));
    args.addAll(List.of("--provider-decision", "opa=DENY"));
    assertThat(run(args.toArray(String[]::new))).as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("{\"decision\":\"DENY\",\"policy\":\"shop/orders-admin-ext-authz\","
        + "\"action\":\"CUSTOM\",\"rule\":0,\"audit\":[],\"dry_run\":[],\"custom\":[\"opa\"],");
  }

  @Test
  void aMalformedRequestExitsTwoWithTheReasonOnStderr() throws Exception {
    Path notJson = write("bad.json", "{\"attributes\": {\"source\": ");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", notJson.toString()))
        .isEqualTo(2);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString()).startsWith("meshguard: invalid request: not an Envoy CheckRequest in protobuf JSON form");

    Path unknownField = write("unknown.json", "{\"attributes\": {\"sauce\": {}}}");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", unknownField.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("sauce");

    Path badIp = write("ip.json", """
        {"attributes": {"source": {"address": {"socketAddress": {"address": "not-an-ip"}}},
                        "contextExtensions": {"namespace": "shop"}}}
        """);
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", badIp.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).isEqualTo("meshguard: invalid request: attributes.source.address.socket_address.address:"
        + " not an IP address: \"not-an-ip\"\n");

    Path noWorkload = write("nowhere.json", "{\"attributes\": {\"request\": {\"http\": {\"path\": \"/\"}}}}");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", noWorkload.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).startsWith("meshguard: invalid request: attributes.context_extensions: ");

    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", dir.resolve("x").toString()))
        .isEqualTo(2);
    assertThat(err.toString()).isEqualTo("meshguard: invalid request: " + dir.resolve("x") + ": no such file\n");
  }

  @Test
  void requestsJsonlDecidesEveryLineAndExitsTwoAtTheEndForABadOne() throws Exception {
    Path jsonl = write("many.jsonl", oneLine(DEBUG_REQUEST) + "\n" + "{not json\n" + "\n" + oneLine(CHARGE_REQUEST)
        + "\n");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--requests", jsonl.toString()))
        .isEqualTo(2);
    List<String> lines = out.toString().lines().toList();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0)).startsWith("{\"decision\":\"DENY\",\"policy\":\"istio-system/deny-debug-endpoints\"");
    assertThat(lines.get(1)).startsWith("{\"error\":\"line 2: not an Envoy CheckRequest in protobuf JSON form");
    assertThat(new ObjectMapper().readTree(lines.get(1)).size()).isEqualTo(1);
    assertThat(lines.get(2)).isEqualTo("{\"error\":\"line 3: empty request: expected one Envoy CheckRequest in"
        + " protobuf JSON form\"}");
    assertThat(lines.get(3)).startsWith("{\"decision\":\"DENY\",\"policy\":null");

    Path good = write("good.jsonl", oneLine(DEBUG_REQUEST) + "\n" + oneLine(CHARGE_REQUEST) + "\n");
    assertThat(runWithStdin(Files.readString(good), "policy", "check", "--policies", EXAMPLES.toString(),
        "--requests", "-")).isZero();
    assertThat(out.toString().lines()).hasSize(2);
  }

  @Test
  void checkNeedsExactlyOneRequestOption() throws Exception {
    Path request = write("debug.json", DEBUG_REQUEST);
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required argument");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--request", request.toString(),
        "--requests", request.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("mutually exclusive");
  }

  @Test
  void policiesThatDoNotLoadExitTwoWithEveryError() throws Exception {
    Path bad = write("bad.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: bad, namespace: shop}
        spec:
          action: SOMETIMES
        """);
    Path request = write("debug.json", DEBUG_REQUEST);
    assertThat(run("policy", "check", "--policies", bad.toString(), "--request", request.toString())).isEqualTo(2);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString()).contains(bad + ":5:").contains("spec.action").endsWith("1 error\n");

    Path badMesh = write("mesh.yaml", "rootNamespace: [not, a, string]\n");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--mesh-config", badMesh.toString(),
        "--request", request.toString())).isEqualTo(2);
    assertThat(err.toString()).contains(badMesh + ":1:").contains("rootNamespace");

    // Both at once: a bad mesh config does not hide the policies' errors.
    assertThat(run("policy", "check", "--policies", bad.toString(), "--mesh-config", badMesh.toString(),
        "--request", request.toString())).isEqualTo(2);
    assertThat(err.toString()).contains(badMesh + ":1:").contains(bad + ":5:").endsWith("2 errors\n");
  }

  @Test
  void theMeshConfigRootNamespaceDecidesWhatIsMeshWide() throws Exception {
    Path request = write("debug.json", DEBUG_REQUEST);
    Path mesh = write("mesh.yaml", "rootNamespace: mesh-root\n");
    assertThat(run("policy", "check", "--policies", EXAMPLES.toString(), "--mesh-config", mesh.toString(),
        "--request", request.toString())).isZero();
    assertThat(out.toString()).startsWith("{\"decision\":\"ALLOW\",\"policy\":null,");
  }

  // --- explain ----------------------------------------------------------------------------------

  @Test
  void explainSaysWhichPoliciesAppliedAndWhatEachRuleDid() throws Exception {
    assertThat(runWithStdin(CHARGE_REQUEST, "policy", "explain", "--policies", EXAMPLES.toString(),
        "--mesh-config", MESH.toString(), "--request", "-")).as(err.toString()).isZero();
    String prose = out.toString();
    assertThat(prose).startsWith("DENY: ");
    assertThat(prose).contains("HTTP request to workload shop/{app=payments}");
    assertThat(prose).contains("istio-system/deny-debug-endpoints").contains("shop/payments")
        .contains("shop/payments-private-clients-only").contains("[dry-run]").contains("shop/audit-deletes");
    assertThat(prose).containsPattern("rule 0 did not match: .*");
    assertThat(prose).contains("dry-run: shop/payments-private-clients-only would deny");
  }

  // --- test -------------------------------------------------------------------------------------

  @Test
  void theExamplePolicyTestsPass() {
    assertThat(run("policy", "test", EXAMPLES.toString())).as(out + "\n" + err).isZero();
    assertThat(out.toString()).doesNotContain("FAIL").contains("PASS  " + EXAMPLES.resolve("mesh_test.yaml") + ":")
        .containsPattern("\\d+ cases in 2 files: \\d+ passed, 0 failed\n$");
  }

  @Test
  void aFailingCaseIsReportedWithWhatDifferedAndExitsOne() throws Exception {
    Files.copy(EXAMPLES.resolve("shop/catalogue.yaml"), write("policies/catalogue.yaml", ""),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path test = write("policies/catalogue_test.yaml", """
        apiVersion: meshguard.dev/v1
        kind: PolicyTest
        metadata: {name: catalogue}
        cases:
        - name: frontend reads
          request: {namespace: shop, labels: {app: catalogue}, principal: "spiffe://cluster.local/ns/shop/sa/frontend",
                    method: GET, path: /products}
          expect: {decision: ALLOW, policy: shop/catalogue, rule: 0}
        - name: wrong on purpose
          request: {namespace: shop, labels: {app: catalogue}, method: GET, path: /products}
          expect: {decision: ALLOW, policy: shop/catalogue}
        - name: TCP connection checks
          request: {namespace: shop, labels: {app: catalogue}, principal: "spiffe://cluster.local/ns/shop/sa/frontend"}
          expect: {decision: DENY, rule: null}
        """);
    assertThat(run("policy", "test", test.toString())).isEqualTo(1);
    String report = out.toString();
    assertThat(report).contains("PASS  " + test + ":5: frontend reads\n");
    assertThat(report).contains("FAIL  " + test + ":9: wrong on purpose\n"
        + "      decision: expected ALLOW, got DENY (");
    assertThat(report).contains("      policy: expected shop/catalogue, got null\n");
    assertThat(report).contains("      got {\"decision\":\"DENY\"");
    assertThat(report).contains("PASS  " + test + ":12: TCP connection checks\n");
    assertThat(report).endsWith("3 cases in 1 file: 2 passed, 1 failed\n");
  }

  @Test
  void aBrokenTestFileIsReportedWithPositionsAndExitsTwo() throws Exception {
    Path test = write("broken_test.yaml", """
        apiVersion: meshguard.dev/v1
        kind: PolicyTest
        policies: [nowhere]
        cases:
        - name: one
          request: {namespace: shop, methd: GET}
          expect: {decision: MAYBE}
        - name: two
          check_request: {attributes: {sorce: {}}}
          expect: {decision: DENY, rule: first}
        """);
    assertThat(run("policy", "test", test.toString())).isEqualTo(2);
    String report = out.toString();
    assertThat(report).contains("ERROR " + test + ": cannot run its cases:");
    assertThat(report).contains(test + ":6:30: cases[0].request.methd: unknown field");
    assertThat(report).contains(test + ":7:22: cases[0].expect.decision: must be ALLOW or DENY");
    assertThat(report).contains(test + ":9:").contains("cases[1].check_request: not an Envoy CheckRequest");
    assertThat(report).contains(test + ":10:").contains("cases[1].expect.rule: must be a rule index");
    assertThat(report).endsWith("0 cases in 1 file: 0 passed, 0 failed, 1 file could not run\n");

    Path policiesMissing = write("missing/x_test.yaml", """
        apiVersion: meshguard.dev/v1
        kind: PolicyTest
        policies: [nowhere]
        cases:
        - name: one
          request: {namespace: shop}
          expect: {decision: ALLOW}
        """);
    assertThat(run("policy", "test", policiesMissing.toString())).isEqualTo(2);
    assertThat(out.toString()).contains(dir.resolve("missing/nowhere") + ": no such file or directory");

    assertThat(run("policy", "test", dir.resolve("missing/empty").toString())).isEqualTo(2);
    Files.createDirectories(dir.resolve("none"));
    assertThat(run("policy", "test", dir.resolve("none").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("no policy test files");
  }

  // --- compile ----------------------------------------------------------------------------------

  @Test
  void compileProgramPrintsTheNormalisedPoliciesForAWorkloadInEvaluationOrder() {
    assertThat(run("policy", "compile", "--emit", "program", "--policies", EXAMPLES.toString(),
        "--workload", "shop:app=orders,version=v2")).as(err.toString()).isZero();
    String program = out.toString();
    assertThat(program).startsWith("# meshguard policy program, revision ");
    assertThat(program).contains("# workload shop {app=orders, version=v2}: 4 policies apply, in evaluation order");
    int custom = program.indexOf("# CUSTOM shop/orders-admin-ext-authz");
    int deny = program.indexOf("# DENY istio-system/deny-debug-endpoints");
    int allow = program.indexOf("# ALLOW shop/orders from");
    int audit = program.indexOf("# AUDIT shop/audit-deletes");
    assertThat(List.of(custom, deny, allow, audit)).doesNotContain(-1).isSorted();
    assertThat(program).contains("kind: AuthorizationPolicy").contains("  - \"8080\"")
        .doesNotContain("catalogue");

    assertThat(run("policy", "compile", "--emit", "program", "--policies", EXAMPLES.toString())).isZero();
    assertThat(out.toString()).contains("shop/catalogue").contains("# RequestAuthentication shop/auth-example");

    assertThat(run("policy", "compile", "--emit", "program", "--policies", EXAMPLES.toString(),
        "--workload", "shop:app")).isEqualTo(2);
    assertThat(err.toString()).contains("--workload: expected k=v for a label");
  }

  // --- bundle, verify, keygen -------------------------------------------------------------------

  @Test
  void keygenBundleVerifyAndTampering() throws Exception {
    Path key = dir.resolve("keys/bundle.pem");
    assertThat(run("policy", "keygen", "--out", key.toString())).as(err.toString()).isZero();
    Path pub = dir.resolve("keys/bundle.pub.pem");
    assertThat(out.toString()).startsWith("wrote " + key + " (private, mode 0600) and " + pub + " (public); key id ");
    assertThat(Files.getPosixFilePermissions(key)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(run("policy", "keygen", "--out", key.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("exists already; refusing to overwrite it");

    Path bundle = dir.resolve("bundle");
    assertThat(run("policy", "bundle", EXAMPLES.toString(), "--out", bundle.toString(), "--key", key.toString()))
        .as(err.toString()).isZero();
    assertThat(out.toString()).matches("wrote bundle " + bundle + ": revision [0-9a-f]{64}, 9 AuthorizationPolicies,"
        + " 1 RequestAuthentication, 10 files; signed with " + key + "\n");
    assertThat(bundle.resolve("manifest.json")).exists();
    assertThat(bundle.resolve("manifest.sig")).exists();

    assertThat(run("policy", "verify", bundle.toString(), "--key", pub.toString())).as(err.toString()).isZero();
    assertThat(out.toString()).matches("OK: bundle " + bundle + ", revision [0-9a-f]{64}, 9 AuthorizationPolicies,"
        + " 1 RequestAuthentication, made \\S+Z by meshguard \\S+; signature verified with key [0-9a-f]{16}\n");

    // The bundle's policies decide as the sources do.
    Path request = write("debug.json", DEBUG_REQUEST);
    assertThat(run("policy", "check", "--policies", bundle.resolve("policies").toString(), "--request",
        request.toString())).isZero();
    assertThat(out.toString()).startsWith("{\"decision\":\"DENY\",\"policy\":\"istio-system/deny-debug-endpoints\"");

    // A modified policy file: refused, naming the file.
    Path file = bundle.resolve("policies/shop/AuthorizationPolicy-payments.json");
    String original = Files.readString(file);
    Files.writeString(file, original.replace("cluster.local/ns/shop/sa/orders", "cluster.local/ns/shop/sa/frontend"));
    assertThat(run("policy", "verify", bundle.toString(), "--key", pub.toString())).isEqualTo(1);
    assertThat(err.toString()).startsWith(file + ": SHA-256 digest differs from the manifest (manifest ")
        .endsWith("FAILED: bundle " + bundle + " is refused (1 problem)\n");
    Files.writeString(file, original);
    assertThat(run("policy", "verify", bundle.toString(), "--key", pub.toString())).isZero();

    // A modified manifest: the signature no longer verifies.
    Path manifest = bundle.resolve("manifest.json");
    String manifestText = Files.readString(manifest);
    Files.writeString(manifest, manifestText.replace("\"created_at\": \"", "\"created_at\": \"1"));
    assertThat(run("policy", "verify", bundle.toString(), "--key", pub.toString())).isEqualTo(1);
    assertThat(err.toString()).contains(manifest + ": the signature in manifest.sig does not verify with the trusted"
        + " key");
    Files.writeString(manifest, manifestText);

    // Another key: refused.
    Path other = dir.resolve("keys/other.pem");
    assertThat(run("policy", "keygen", "--out", other.toString())).isZero();
    assertThat(run("policy", "verify", bundle.toString(), "--key", dir.resolve("keys/other.pub.pem").toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("does not verify with the trusted key");

    // No signature: refused when a key is trusted; digests alone pass without one, and say so.
    Files.delete(bundle.resolve("manifest.sig"));
    assertThat(run("policy", "verify", bundle.toString(), "--key", pub.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("manifest.sig: missing: the bundle is not signed");
    assertThat(run("policy", "verify", bundle.toString())).isZero();
    assertThat(out.toString()).endsWith("signature NOT checked (no --key)\n");

    // A private key is not a trusted key, and a missing key file is a usage error.
    assertThat(run("policy", "verify", bundle.toString(), "--key", key.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("expected a PUBLIC KEY block");
    assertThat(run("policy", "bundle", EXAMPLES.toString(), "--out", bundle.toString(), "--key",
        dir.resolve("nokey.pem").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("nokey.pem: cannot read: no such file");
  }

  @Test
  void bundleRefusesInvalidPoliciesWithEveryError() throws Exception {
    Path bad = write("bad.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: bad, namespace: shop}
        spec:
          action: DENY
        """);
    assertThat(run("policy", "bundle", bad.toString(), "--out", dir.resolve("b").toString())).isEqualTo(1);
    assertThat(err.toString()).contains(bad + ":").endsWith("1 error\n");
    assertThat(dir.resolve("b")).doesNotExist();
    // Unsigned bundles can be made, and say so.
    assertThat(run("policy", "bundle", EXAMPLES.toString(), "--out", dir.resolve("u").toString())).isZero();
    assertThat(out.toString()).endsWith("; UNSIGNED (no --key)\n");
  }

  @Test
  void policyHelpListsEverySubcommand() {
    assertThat(run("policy", "--help")).isZero();
    for (String sub : List.of("validate", "check", "explain", "test", "compile", "bundle", "verify", "keygen")) {
      assertThat(out.toString()).containsPattern("(?m)^\\s+" + sub + "\\s");
    }
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }
}

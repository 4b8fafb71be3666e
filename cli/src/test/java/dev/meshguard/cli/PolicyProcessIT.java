package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meshguard policy ...} as scripts run it: the packaged distribution
 * ({@code cli/target/meshguard.jar} with its {@code lib/}) in a process of its own, exactly as the
 * {@code ./meshguard} launcher starts it, with the request on standard input, the decision on
 * standard output and the exit code as the contract says.
 */
class PolicyProcessIT {
  private static final Path EXAMPLES = Path.of("..", "policies", "authz");

  @TempDir
  Path tmp;

  record Result(int exit, String out, String err) {}

  private Result meshguard(String stdin, String... args) throws Exception {
    List<String> command = PackagedJar.command(args);
    Path out = tmp.resolve("out.txt");
    Path err = tmp.resolve("err.txt");
    Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try (OutputStream in = process.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("meshguard %s finished", List.of(args)).isTrue();
    return new Result(process.exitValue(), read(out), read(err));
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  @Test
  void checkReadsStandardInputAndPrintsOneDecision() throws Exception {
    Result allowed = meshguard("""
        {"attributes": {
          "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
          "request": {"http": {"method": "GET", "host": "catalogue", "path": "/products/7"}},
          "context_extensions": {"namespace": "shop", "labels": "app=catalogue"}}}
        """, "policy", "check", "--policies", EXAMPLES.toString(), "--request", "-");
    assertThat(allowed.exit()).as(allowed.err()).isZero();
    assertThat(allowed.out()).startsWith("{\"decision\":\"ALLOW\",\"policy\":\"shop/catalogue\",\"action\":\"ALLOW\","
        + "\"rule\":0,\"audit\":[],\"dry_run\":[],\"custom\":[],\"reason\":\"").endsWith("}\n");
    assertThat(allowed.out().lines()).hasSize(1);

    Result denied = meshguard("""
        {"attributes": {
          "request": {"http": {"method": "GET", "host": "catalogue", "path": "/products/7"}},
          "context_extensions": {"namespace": "shop", "labels": "app=catalogue"}}}
        """, "policy", "check", "--policies", EXAMPLES.toString(), "--request", "-");
    assertThat(denied.exit()).as("a DENY is still a decision").isZero();
    assertThat(denied.out()).startsWith("{\"decision\":\"DENY\",\"policy\":null,");

    Result malformed = meshguard("{\"attributes\": 7}", "policy", "check", "--policies", EXAMPLES.toString(),
        "--request", "-");
    assertThat(malformed.exit()).isEqualTo(2);
    assertThat(malformed.out()).isEmpty();
    assertThat(malformed.err()).startsWith("meshguard: invalid request: ");
  }

  @Test
  void theExampleTestsPassAndValidateExitsOneOnErrors() throws Exception {
    Result tests = meshguard("", "policy", "test", EXAMPLES.toString());
    assertThat(tests.exit()).as(tests.out() + tests.err()).isZero();
    assertThat(tests.out()).contains(" 0 failed");

    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(bad, "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\n"
        + "spec: {action: DENY}\n");
    Result validate = meshguard("", "policy", "validate", bad.toString());
    assertThat(validate.exit()).isEqualTo(1);
    assertThat(validate.err()).contains(bad + ":").endsWith("1 error\n");
  }
}

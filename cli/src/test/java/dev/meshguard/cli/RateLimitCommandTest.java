package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RateLimitCommandTest {
  @TempDir
  Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @Test
  void aValidDirectoryPasses() throws Exception {
    // The shape of envoyproxy/ratelimit's README example 1, unchanged.
    Files.writeString(dir.resolve("messaging.yaml"), """
        domain: mongo_cps
        descriptors:
          - key: database
            value: users
            rate_limit:
              unit: second
              requests_per_unit: 500
          - key: database
            value: default
            rate_limit:
              unit: second
              requests_per_unit: 500
        """);
    assertThat(run("ratelimit", "validate", dir.toString())).isZero();
    assertThat(out.toString()).isEqualTo("OK: 1 domain: mongo_cps\n");
  }

  @Test
  void everyErrorIsReportedWithItsPosition() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, """
        domain: edge
        descriptors:
          - key: path
            rate_limit:
              unit: fortnight
              requests_per_unit: 10
          - key: remote_address
            ratelimit:
              unit: second
              requests_per_unit: 5
        """);
    assertThat(run("ratelimit", "validate", file.toString())).isEqualTo(1);
    String errors = err.toString();
    assertThat(errors).contains(file + ":5:").contains("fortnight");
    assertThat(errors).contains(file + ":8:").contains("ratelimit");
    assertThat(errors).endsWith("2 errors\n");
  }

  @Test
  void aMissingPathIsAnError() {
    assertThat(run("ratelimit", "validate", dir.resolve("nope").toString())).isEqualTo(1);
    assertThat(err.toString()).contains("nope: no such file or directory");
  }
}

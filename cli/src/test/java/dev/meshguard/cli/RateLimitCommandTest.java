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
  void aMalformedStoreIsAConfigErrorNamingTheForms() throws Exception {
    Files.writeString(dir.resolve("edge.yaml"), "domain: edge\ndescriptors: []\n");
    assertThat(run("ratelimit", "--config-dir", dir.toString(), "--port", "0", "--admin-port", "0",
        "--store", "redis://:hunter2@cache:port", "--audit-dir", dir.resolve("audit").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("the configuration has 1 error:")
        .contains("invalid store 'redis://:***@cache:port': port must be a number, found 'port'")
        .contains("redis-sentinel://host:port,host:port/master")
        .doesNotContain("hunter2");
  }

  @Test
  void aMissingPathIsAnError() {
    assertThat(run("ratelimit", "validate", dir.resolve("nope").toString())).isEqualTo(1);
    assertThat(err.toString()).contains("nope: no such file or directory");
  }
}

package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @TempDir
  Path dir;

  /** A suite that reports fixed figures, or fails. */
  private record FakeSuite(String name, Exception failure) implements Suite {
    @Override
    public String description() {
      return "a fake";
    }

    @Override
    public Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception {
      if (failure != null) {
        throw failure;
      }
      progress.println("progress goes to stderr");
      return new Figures().put("events_per_sec", 1234.5678).put("ratio", 0.5);
    }
  }

  private int run(List<Suite> suites, String... args) {
    return Main.run(args, suites, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "''                       | bench: name a suite",
      "nope                     | bench: unknown suite nope",
      "audit-write authz-load   | bench: name one suite, found audit-write authz-load",
      "audit-write --fast       | bench: unknown option --fast",
      "audit-write --dir        | bench: --dir needs a directory",
  })
  void misuseExitsTwoWithTheUsageListingEverySuite(String args, String problem) {
    String[] argv = args.isEmpty() ? new String[0] : args.split(" ");
    assertThat(run(List.of(new FakeSuite("audit-write", null), new FakeSuite("authz-load", null)), argv))
        .isEqualTo(Main.USAGE);
    assertThat(out()).isEmpty();
    assertThat(err()).isEqualTo(problem + "\n" + """
        usage: bench/run SUITE [--quick] [--dir DIR]
          --quick    a short run (seconds, for CI smoke); its figures are rough
          --dir DIR  where disk-bound suites write (bench/run passes bench/target/work)
        suites:
          audit-write  a fake
          authz-load   a fake
        """);
  }

  @Test
  void helpPrintsTheUsageToStdoutAndSucceeds() {
    assertThat(run(List.of(new FakeSuite("audit-write", null)), "--help")).isEqualTo(Main.OK);
    assertThat(out()).startsWith("usage: bench/run SUITE").endsWith("suites:\n  audit-write  a fake\n");
    assertThat(err()).isEmpty();
  }

  @Test
  void benchRunKnowsEverySuite() {
    assertThat(Main.suites()).extracting(Suite::name)
        .containsExactly("audit-write", "policy-eval", "ca-issue", "authz-load", "rls-load", "quota");
  }

  @Test
  void stdoutIsOneJsonLineNamingTheSuiteFirst() {
    assertThat(run(List.of(new FakeSuite("fake", null)), "fake", "--quick", "--dir", dir.toString()))
        .isEqualTo(Main.OK);
    assertThat(out()).isEqualTo("{\"suite\":\"fake\",\"quick\":true,\"events_per_sec\":1234.568,\"ratio\":0.5}\n");
    assertThat(err()).isEqualTo("progress goes to stderr\n");
  }

  @Test
  void aFailingSuiteExitsOneAndPrintsNoFigures() {
    assertThat(run(List.of(new FakeSuite("fake", new IllegalStateException("disk full"))), "fake"))
        .isEqualTo(Main.FAILED);
    assertThat(out()).isEmpty();
    assertThat(err()).startsWith("bench: fake failed: java.lang.IllegalStateException: disk full\n");
  }
}

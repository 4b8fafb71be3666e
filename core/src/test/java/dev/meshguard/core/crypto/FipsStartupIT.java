package dev.meshguard.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * FIPS start-up as a real {@code main()} sees it: each case is a fresh JVM, because approved-only
 * mode is decided once, when the first Bouncy Castle class loads.
 */
class FipsStartupIT {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "request-first    | 0 | STARTED Crypto[FIPS, TLS BCJSSE, key store BCFKS] approvedOnly=true",
      "no-request       | 2 | REFUSED config: fips: FIPS mode needs the JVM in Bouncy Castle approved-only mode, but"
          + " -Dorg.bouncycastle.fips.approved_only=true is not set; start the JVM with it (the meshguard launcher"
          + " does for --fips) or set fips: false",
      "request-too-late | 2 | REFUSED config: fips: FIPS mode needs the JVM in Bouncy Castle approved-only mode, but"
          + " org.bouncycastle.fips.approved_only=true was set after the FIPS module had loaded; pass it on the java"
          + " command line, or call Crypto.requestApprovedOnlyMode() before anything else in main()",
  })
  void startUpOrderDecidesApprovedOnlyMode(String scenario, int exitCode, String output) throws Exception {
    Process process = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED",
            "-cp", testClassPath(),
            FipsStartupMain.class.getName(), scenario))
        .redirectErrorStream(false)
        .start();
    process.getOutputStream().close();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("JVM finished").isTrue();
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(stdout).as("stdout (stderr: %s)", stderr).isEqualTo(output);
    assertThat(process.exitValue()).isEqualTo(exitCode);
  }

  /** Surefire/failsafe may put the class path in a manifest-only jar; they also publish it here. */
  private static String testClassPath() {
    String classPath = System.getProperty("surefire.test.class.path");
    if (classPath == null || classPath.isBlank()) {
      classPath = System.getProperty("java.class.path");
    }
    assertThat(classPath).contains(File.separator + "test-classes");
    return classPath;
  }
}

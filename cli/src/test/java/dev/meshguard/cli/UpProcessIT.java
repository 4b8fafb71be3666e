package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the packaged distribution ({@code cli/target/meshguard.jar} with its {@code lib/}) as a
 * separate process, exactly as the launcher does, and stops it with SIGTERM.
 */
class UpProcessIT {
  private static final Path JAR = Path.of("target", "meshguard.jar");

  @TempDir
  Path tmp;

  private Process process;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void upServesHealthzAndStopsOnSigterm() throws Exception {
    assertThat(JAR).as("the distribution jar; run ./mvnw verify so package runs first").exists();
    int adminPort = freePort();
    Path log = tmp.resolve("up.log");
    process = new ProcessBuilder(List.of(javaBinary(), "--enable-native-access=ALL-UNNAMED", "-jar",
            JAR.toAbsolutePath().toString(), "up", "--admin-port", Integer.toString(adminPort),
            "--audit-dir", tmp.resolve("audit").toString()))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();

    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    URI healthz = URI.create("http://127.0.0.1:" + adminPort + "/healthz");
    HttpResponse<String> response = awaitResponse(client, healthz, Duration.ofSeconds(30), log);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("ok\n");
    assertThat(Files.readString(log))
        .contains("meshguard ")
        .contains("admin      http://127.0.0.1:" + adminPort);

    long start = System.nanoTime();
    process.destroy(); // SIGTERM
    boolean exited = process.waitFor(5, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(exited).as("meshguard up stopped within 5 s of SIGTERM (took %s); log:%n%s", took,
        Files.readString(log)).isTrue();
    // 143 = 128 + SIGTERM: the JVM ran its shutdown hooks and exited on the signal.
    assertThat(process.exitValue()).isEqualTo(143);
    assertThat(Files.readString(log)).contains("meshguard stopped");
    // The audit log was closed cleanly: the start event and the closing checkpoint verify.
    assertThat(Main.commandLine().execute("audit", "verify", tmp.resolve("audit").toString())).isZero();
    try (ServerSocket reuse = new ServerSocket(adminPort)) {
      assertThat(reuse.getLocalPort()).as("admin port released").isEqualTo(adminPort);
    }
  }

  @Test
  void helpListsEverySubcommand() throws Exception {
    Path log = tmp.resolve("help.log");
    process = new ProcessBuilder(List.of(javaBinary(), "-jar", JAR.toAbsolutePath().toString(), "--help"))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isZero();
    assertThat(Files.readString(log)).contains("Usage: meshguard").containsPattern("(?m)^\\s+up\\s")
        .containsPattern("(?m)^\\s+version\\s");
  }

  private static HttpResponse<String> awaitResponse(HttpClient client, URI uri, Duration timeout, Path log)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        last = e;
        Thread.onSpinWait();
        TimeUnit.MILLISECONDS.sleep(100);
      }
    }
    throw new AssertionError("no answer from " + uri + " within " + timeout + " (" + last + "); log:\n"
        + Files.readString(log));
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}

package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The packaged distribution ({@code cli/target/meshguard.jar} with its {@code lib/}) run as a
 * separate process, exactly as the {@code ./meshguard} launcher starts it: the process tests'
 * command line, the wait for a server's banner, and the quiet reads they poll with.
 */
final class PackagedJar {
  static final Path JAR = Path.of("target", "meshguard.jar");
  /** The banner's last line: a server command prints it once every server it starts is up. */
  static final String READY = "Ready. Ctrl-C stops.";

  private PackagedJar() {}

  /** {@code java --enable-native-access=ALL-UNNAMED -jar meshguard.jar ARGS}, with this test JVM's java. */
  static List<String> command(String... args) {
    assertThat(JAR).as("the distribution jar; run ./mvnw verify so package runs first").exists();
    List<String> command = new ArrayList<>(List.of(javaBinary(), "--enable-native-access=ALL-UNNAMED", "-jar",
        JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    return command;
  }

  /** A not yet started {@link #command} with standard output and error both written to {@code log}. */
  static ProcessBuilder meshguard(Path log, String... args) {
    return new ProcessBuilder(command(args)).redirectErrorStream(true).redirectOutput(log.toFile());
  }

  /**
   * Waits up to {@code timeout} until {@code log} holds the banner's last line; fails naming
   * {@code what} (e.g. {@code "meshguard authz"}) with the log so far.
   */
  static void awaitBanner(Path log, Duration timeout, String what) {
    Await.until(timeout, () -> readQuietly(log).contains(READY),
        () -> what + " to print its banner; log so far:\n" + readQuietly(log));
  }

  /** The log as far as written, or what made it unreadable (for polling and failure messages). */
  static String readQuietly(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  /** The body of a GET, or the failure in parentheses (for polling an admin endpoint). */
  static String get(URI uri) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      return "(" + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(interrupted)";
    }
  }

  /** The java binary running this test, so the process gets the same JDK. */
  static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }
}

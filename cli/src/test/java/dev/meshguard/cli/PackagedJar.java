package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.testkit.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged distribution ({@code cli/target/meshguard.jar} with its {@code lib/}) run as a
 * separate process, exactly as the {@code ./meshguard} launcher starts it: the process tests'
 * command line, the wait for a server's banner, where a server started on port 0 really listens,
 * and the quiet reads they poll with.
 *
 * <p>Server processes are started with every port 0 ({@code --port 0 --admin-port 0 ...}) and the
 * test learns the ports the process bound from it ({@link #awaitServer}): a port the test picked
 * and the child bound later could be taken by another process in between.
 */
final class PackagedJar {
  static final Path JAR = Path.of("target", "meshguard.jar");
  /** The banner's last line: a server command prints it once every server it starts is up. */
  static final String READY = "Ready. Ctrl-C stops.";
  /**
   * How long a server process may take to print its banner. A cold JVM starting every server takes
   * seconds; on a loaded 2-core machine more than 60 s was seen (an empty log after 60 s).
   */
  static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  /** The banner's admin line; every server command prints one. */
  private static final Pattern ADMIN_LINE = Pattern.compile("(?m)^  admin +http://127\\.0\\.0\\.1:(\\d+) ");
  /** The port at the end of an endpoint: {@code 127.0.0.1:PORT} or {@code https://127.0.0.1:PORT/}. */
  private static final Pattern PORT = Pattern.compile(":(\\d+)/?$");

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
   * Waits up to {@link #START_TIMEOUT} until {@code log} holds the banner's last line, then returns
   * where the server really listens: the admin port from the banner's {@code admin} line,
   * everything else from that admin server's {@code /status}. Fails naming {@code what} (e.g.
   * {@code "meshguard authz"}) with the log so far.
   */
  static Server awaitServer(Path log, String what) {
    Await.until(START_TIMEOUT, () -> readQuietly(log).contains(READY),
        () -> what + " to print its banner; log so far:\n" + readQuietly(log));
    String banner = readQuietly(log);
    Matcher admin = ADMIN_LINE.matcher(banner);
    assertThat(admin.find()).as("the banner's admin line in:%n%s", banner).isTrue();
    return new Server(Integer.parseInt(admin.group(1)));
  }

  /** A started server process, by the port of its admin server. */
  record Server(int adminPort) {
    /** {@code http://127.0.0.1:ADMIN_PORT/PATH}, e.g. {@code admin("/status")}. */
    URI admin(String path) {
      return URI.create("http://127.0.0.1:" + adminPort + path);
    }

    /**
     * The endpoint {@code name} of {@code component} on {@code /status}, e.g. {@code 127.0.0.1:40123}
     * for ({@code authz}, {@code grpc}) or {@code https://127.0.0.1:40124/} for ({@code ca}, {@code bundle}).
     */
    String endpoint(String component, String name) {
      String status = get(admin("/status"));
      try {
        for (JsonNode node : new ObjectMapper().readTree(status).path("components")) {
          if (node.path("component").asText().equals(component) && node.path("endpoints").has(name)) {
            return node.path("endpoints").path(name).asText();
          }
        }
      } catch (IOException e) {
        throw new AssertionError("/status is not JSON: " + status, e);
      }
      throw new AssertionError("no endpoint " + name + " of " + component + " on /status: " + status);
    }

    /** The port of {@link #endpoint}. */
    int port(String component, String name) {
      String endpoint = endpoint(component, name);
      Matcher port = PORT.matcher(endpoint);
      assertThat(port.find()).as("a port in %s's %s endpoint %s", component, name, endpoint).isTrue();
      return Integer.parseInt(port.group(1));
    }
  }

  /**
   * Replaces {@code file} with {@code content} in one step, as a deploy tool would: written to a
   * new file in {@code scratch} (outside the directory a server watches, on the same file system),
   * then renamed over {@code file}. Written in place, a server's fast reload poll could read the
   * file truncated or half written and refuse a reload the test did not make.
   */
  static void replaceFile(Path file, Path scratch, String content) throws IOException {
    Path next = Files.writeString(Files.createTempFile(scratch, "next-", ".tmp"), content);
    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE);
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

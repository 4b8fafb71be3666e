package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisServerProcessIT {
  private static RedisClient client;

  @BeforeAll
  static void createClient() {
    client = RedisClient.create();
  }

  @AfterAll
  static void shutDownClient() {
    client.shutdown();
  }

  @Test
  void servesSetAndGetAndClosesItsPortWhenStopped() {
    try (RedisServerProcess server = RedisServerProcess.start()) {
      assertThat(server.uri()).isEqualTo("redis://127.0.0.1:" + server.port());
      try (StatefulRedisConnection<String, String> connection = client.connect(server.redisUri())) {
        assertThat(connection.sync().set("greeting", "hello")).isEqualTo("OK");
        assertThat(connection.sync().get("greeting")).isEqualTo("hello");
      }

      server.stop();

      assertThat(server.isRunning()).isFalse();
      assertRefused(server.port());
    }
  }

  @Test
  void comesBackEmptyOnTheSamePortAfterAKill() throws IOException {
    try (RedisServerProcess server = RedisServerProcess.start()) {
      try (StatefulRedisConnection<String, String> connection = client.connect(server.redisUri())) {
        connection.sync().set("lost", "in the crash");
      }

      server.kill();
      assertThat(server.isRunning()).isFalse();
      assertRefused(server.port());

      server.restart();
      try (StatefulRedisConnection<String, String> connection =
          client.connect(RedisURI.create(server.uri()))) {
        assertThat(connection.sync().ping()).isEqualTo("PONG");
        assertThat(connection.sync().exists("lost")).as("no persistence").isZero();
      }
      assertThat(Files.readString(server.logFile()))
          .containsPattern("(?s)Ready to accept connections.*Ready to accept connections");
    }
  }

  @Test
  void closeDeletesTheDirectoryAndIsIdempotent() {
    RedisServerProcess server = RedisServerProcess.start();
    Path directory = server.directory();
    assertThat(directory).startsWith(Path.of(System.getProperty("java.io.tmpdir")));
    assertThat(server.logFile()).exists();

    server.close();
    server.close();

    assertThat(directory).doesNotExist();
    assertThatThrownBy(server::restart)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("was closed");
  }

  @Test
  void failsWithTheLogWhenTheServerRejectsItsConfiguration() {
    assertThatThrownBy(() -> RedisServerProcess.start(List.of("--no-such-directive", "x")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with 1 while starting")
        .hasMessageContaining("Bad directive");
  }

  @Test
  void failsWhenItsPortIsTakenAndTakesAnotherOneWhenItMay() throws IOException {
    try (ServerSocket squatter = new ServerSocket()) {
      squatter.bind(new InetSocketAddress(FreePorts.LOOPBACK, FreePorts.port()));
      int taken = squatter.getLocalPort();

      assertThatThrownBy(() -> RedisServerProcess.start(taken, List.of()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("Address already in use");

      List<Integer> offered = new ArrayList<>();
      AtomicInteger calls = new AtomicInteger();
      try (RedisServerProcess server =
          RedisServerProcess.start(
              () -> {
                int port = calls.getAndIncrement() == 0 ? taken : FreePorts.port();
                offered.add(port);
                return port;
              },
              List.of())) {
        assertThat(offered).hasSize(2).startsWith(taken);
        assertThat(server.port()).isEqualTo(offered.get(1));
        assertThat(server.isRunning()).isTrue();
      }
    }
  }

  @Test
  void aJvmThatExitsKillsTheServersItLeftRunning() throws Exception {
    Process jvm =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                LeavesAServerRunning.class.getName())
            .redirectErrorStream(true)
            .start();
    String output = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(jvm.waitFor()).as(output).isZero();
    String[] portAndDirectory =
        output.lines().reduce((first, last) -> last).orElseThrow().split(" ");
    int port = Integer.parseInt(portAndDirectory[0]);
    try {
      Await.until(
          Duration.ofSeconds(10),
          () -> !answersPing(port),
          () -> "the server on port " + port + " to be gone after its JVM exited");
    } finally {
      deleteRecursively(Path.of(portAndDirectory[1]));
    }
  }

  /** Starts a server and exits without stopping it; prints its port and directory. */
  static final class LeavesAServerRunning {
    public static void main(String[] args) {
      RedisServerProcess server = RedisServerProcess.start();
      System.out.println(server.port() + " " + server.directory());
    }
  }

  private static boolean answersPing(int port) {
    try {
      return "+PONG"
          .equals(InlineCommand.send(FreePorts.LOOPBACK, port, "PING", Duration.ofSeconds(1)));
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  private static void assertRefused(int port) {
    assertThatThrownBy(
            () -> {
              try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(FreePorts.LOOPBACK, port), 1_000);
              }
            })
        .isInstanceOf(ConnectException.class);
  }
}

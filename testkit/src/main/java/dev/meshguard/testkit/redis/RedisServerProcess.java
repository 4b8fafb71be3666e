package dev.meshguard.testkit.redis;

import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.stream.Stream;

/**
 * One real {@code redis-server} process on {@value #HOST}, for tests.
 *
 * <p>Each server has its own directory under {@code java.io.tmpdir}, runs without persistence
 * ({@code --save "" --appendonly no}) and writes its log (stdout and stderr, appended across
 * restarts) to {@link #logFile()}. {@code start} returns once the server answers PING as the
 * process it started: a server of someone else's that answers on the same port does not count.
 *
 * <p>{@link #stop()}, {@link #kill()} and {@link #restart()} keep the port and the directory, so a
 * cluster node comes back with its {@code nodes.conf}; {@link #close()} also deletes the directory.
 * Servers that are never stopped are killed when the JVM exits.
 */
public final class RedisServerProcess implements AutoCloseable {
  /** The address every server binds. */
  public static final String HOST = FreePorts.LOOPBACK;

  /** How long a server may take to answer PING after it was launched. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  /** How long a server may take to exit after SIGTERM before it gets SIGKILL. */
  public static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  /** Tries on fresh ports when another process took the port first; see {@link FreePorts}. */
  private static final int PORT_ATTEMPTS = 3;

  private static final String PORT_TAKEN = "Address already in use";
  private static final int LOG_LINES_IN_ERRORS = 30;

  /**
   * A starting server answers PING at once (or -LOADING); a short wait lets the start-up check
   * notice soon that the server died when something else holds the port and does not answer.
   */
  private static final Duration PING_TIMEOUT = Duration.ofMillis(250);

  private final int port;
  private final Path directory;
  private final Path logFile;
  private final List<String> command;
  private Process process; // guarded by this; null when not running
  private boolean closed; // guarded by this

  private RedisServerProcess(RedisBinary binary, int port, String configFile, List<String> extraArgs) {
    this.port = port;
    try {
      this.directory = Files.createTempDirectory("meshguard-redis-" + port + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for redis-server", e);
    }
    this.logFile = directory.resolve("redis.log");
    List<String> args = new ArrayList<>();
    args.add(binary.executable().toString());
    if (configFile != null) {
      // redis-server takes a config file only as its first argument; Sentinel needs one to rewrite.
      Path file = directory.resolve("redis.conf");
      try {
        Files.writeString(file, configFile, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + file, e);
      }
      args.add(file.toString());
    }
    args.addAll(
        List.of(
            "--port", Integer.toString(port),
            "--bind", HOST,
            "--dir", directory.toString(),
            "--daemonize", "no",
            "--logfile", "",
            "--save", "",
            "--appendonly", "no"));
    args.addAll(extraArgs);
    this.command = List.copyOf(args);
  }

  /** Starts a server on a free port. */
  public static RedisServerProcess start() {
    return start(List.of());
  }

  /**
   * Starts a server on a free port with more configuration, e.g. {@code List.of("--maxmemory",
   * "10mb")}; later arguments override the defaults.
   */
  public static RedisServerProcess start(List<String> extraArgs) {
    return start(FreePorts::port, extraArgs);
  }

  /** Starts a server on {@code port}; it fails if the port is taken. */
  public static RedisServerProcess start(int port, List<String> extraArgs) {
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    return start(() -> port, 1, null, extraArgs);
  }

  /**
   * Starts a server on a free port from a config file with {@code configFile} as its content (in
   * the server's directory), then the usual arguments, then {@code extraArgs}; e.g. a Sentinel:
   * {@code startWithConfigFile("sentinel monitor m 127.0.0.1 6379 2\n", List.of("--sentinel"))}.
   */
  public static RedisServerProcess startWithConfigFile(String configFile, List<String> extraArgs) {
    return start(FreePorts::port, PORT_ATTEMPTS, Objects.requireNonNull(configFile, "configFile"), extraArgs);
  }

  /** Starts a server on a port from {@code ports}, taking another one if the port was taken. */
  static RedisServerProcess start(IntSupplier ports, List<String> extraArgs) {
    return start(ports, PORT_ATTEMPTS, null, extraArgs);
  }

  private static RedisServerProcess start(IntSupplier ports, int attempts, String configFile, List<String> extraArgs) {
    List<String> args = List.copyOf(Objects.requireNonNull(extraArgs, "extraArgs"));
    RedisBinary binary = RedisBinary.get();
    for (int attempt = 1; ; attempt++) {
      RedisServerProcess server = new RedisServerProcess(binary, ports.getAsInt(), configFile, args);
      boolean started = false;
      try {
        server.launch();
        started = true;
        return server;
      } catch (PortTakenException e) {
        if (attempt >= attempts) {
          throw e;
        }
      } finally {
        if (!started) {
          server.close();
        }
      }
    }
  }

  /** The address the server listens on: {@value #HOST}. */
  public String host() {
    return HOST;
  }

  public int port() {
    return port;
  }

  /** The URI for a Lettuce client, e.g. {@code redis://127.0.0.1:16379}. */
  public String uri() {
    return "redis://" + HOST + ":" + port;
  }

  /** The URI for a Lettuce client, as a {@link RedisURI}. */
  public RedisURI redisUri() {
    return RedisURI.create(HOST, port);
  }

  /** The server's own directory: its working directory and {@code --dir}. */
  public Path directory() {
    return directory;
  }

  /** The file that the server's output goes to. */
  public Path logFile() {
    return logFile;
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /**
   * Stops the server with SIGTERM, and SIGKILL if it has not exited after {@link #STOP_TIMEOUT}.
   */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    Process running = process;
    running.destroy();
    if (!exited(running)) {
      ProcessReaper.killTree(running);
      awaitExit(running);
    }
    forget(running);
  }

  /** Kills the server with SIGKILL, as a crash would, and waits until it is gone. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    Process running = process;
    ProcessReaper.killTree(running);
    awaitExit(running);
    forget(running);
  }

  /** Stops the server if it runs, then starts it again on the same port and directory. */
  public synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("redis-server on port " + port + " was closed");
    }
    stop();
    launch();
  }

  /** The last {@code lines} lines of the server's log, for diagnostics. */
  public String logTail(int lines) {
    try (Stream<String> all = Files.lines(logFile, StandardCharsets.UTF_8)) {
      List<String> kept = all.toList();
      return String.join("\n", kept.subList(Math.max(0, kept.size() - lines), kept.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Stops the server and deletes its directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stop();
    deleteRecursively(directory);
  }

  @Override
  public String toString() {
    return "redis-server " + HOST + ":" + port;
  }

  private synchronized void launch() {
    Process started;
    try {
      started =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .redirectOutput(Redirect.appendTo(logFile.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command.getFirst(), e);
    }
    ProcessReaper.register(started);
    process = started;
    Await.until(
        START_TIMEOUT,
        () -> !started.isAlive() || answersAs(started.pid()),
        () -> this + " to answer PING; its log ends with:\n" + logTail(LOG_LINES_IN_ERRORS));
    if (!started.isAlive()) {
      forget(started);
      String log = logTail(LOG_LINES_IN_ERRORS);
      String message =
          this
              + " exited with "
              + started.exitValue()
              + " while starting; its log ends with:\n"
              + log;
      throw log.contains(PORT_TAKEN)
          ? new PortTakenException(message)
          : new IllegalStateException(message);
    }
  }

  /** Whether the server on our port answers PING and is the process we started. */
  private boolean answersAs(long pid) {
    try {
      return "+PONG".equals(InlineCommand.send(HOST, port, "PING", PING_TIMEOUT))
          && InlineCommand.send(HOST, port, "INFO server", PING_TIMEOUT)
              .contains("process_id:" + pid + "\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  private void forget(Process exited) {
    ProcessReaper.unregister(exited);
    process = null;
  }

  private static boolean exited(Process process) {
    try {
      return process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void awaitExit(Process killed) {
    if (!exited(killed)) {
      throw new IllegalStateException(
          this + " (pid " + killed.pid() + ") did not exit after SIGKILL");
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      // A leftover directory under java.io.tmpdir is not worth failing a test for.
    }
  }

  /** The server could not bind its port: another process took it after it was found free. */
  private static final class PortTakenException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    PortTakenException(String message) {
      super(message);
    }
  }
}

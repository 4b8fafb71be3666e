package dev.meshguard.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a Redis server says it did, for rls-load; two counts, because Redis counts the commands a
 * Lua script runs ({@code redis.call}) like the ones clients send.
 *
 * <ul>
 *   <li>{@link #snapshot()}: {@code INFO commandstats} (calls per command) and {@code INFO stats}
 *       ({@code total_commands_processed}), read over a connection of its own; the difference of
 *       two snapshots, less its own INFO calls, is every command Redis executed in between: the
 *       {@code EVALSHA} a client sent and the {@code INCRBY}/{@code EXPIRE} its script ran alike.
 *   <li>{@link Monitor}: {@code MONITOR}, which tags each command with who sent it ({@code [0
 *       127.0.0.1:PORT]} for a client, {@code [0 lua]} for a script). Commands from a client are
 *       the requests a client made and waited for, i.e. its round trips. MONITOR slows Redis down,
 *       so it watches a short sequential sample only, never the timed runs.
 * </ul>
 */
final class RedisStats implements AutoCloseable {
  private static final Pattern CALLS = Pattern.compile("^cmdstat_([a-z|_-]+):calls=(\\d+)", Pattern.MULTILINE);
  private static final Pattern TOTAL = Pattern.compile("^total_commands_processed:(\\d+)", Pattern.MULTILINE);
  private static final Pattern VERSION = Pattern.compile("^redis_version:(\\S+)", Pattern.MULTILINE);

  /** Calls per command and the total, at one moment. */
  record Snapshot(Map<String, Long> calls, long total) {
    Snapshot {
      calls = Map.copyOf(calls);
    }

    /** Commands executed from {@code before} to this snapshot per {@code requests}, without the INFO calls that read them. */
    Delta since(Snapshot before, long requests) {
      Map<String, Double> perRequest = new TreeMap<>();
      calls.forEach((command, count) -> {
        long delta = count - before.calls.getOrDefault(command, 0L);
        if (delta > 0 && !command.equals("info")) {
          perRequest.put(command, (double) delta / requests);
        }
      });
      long info = calls.getOrDefault("info", 0L) - before.calls.getOrDefault("info", 0L);
      return new Delta(perRequest, (double) (total - before.total - info) / requests, requests);
    }
  }

  /**
   * Commands per request between two snapshots.
   *
   * @param perRequest calls per request of each command executed (script internals included)
   * @param allPerRequest every command executed, per request
   */
  record Delta(Map<String, Double> perRequest, double allPerRequest, long requests) {
    double of(String... commands) {
      double sum = 0;
      for (String command : commands) {
        sum += perRequest.getOrDefault(command, 0.0);
      }
      return sum;
    }
  }

  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  RedisStats(RedisURI server) {
    this.client = RedisClient.create(server);
    this.connection = client.connect();
  }

  Snapshot snapshot() {
    Map<String, Long> calls = new TreeMap<>();
    Matcher m = CALLS.matcher(connection.sync().info("commandstats"));
    while (m.find()) {
      calls.put(m.group(1), Long.parseLong(m.group(2)));
    }
    Matcher total = TOTAL.matcher(connection.sync().info("stats"));
    if (!total.find()) {
      throw new IllegalStateException("INFO stats has no total_commands_processed");
    }
    return new Snapshot(calls, Long.parseLong(total.group(1)));
  }

  String version() {
    Matcher m = VERSION.matcher(connection.sync().info("server"));
    return m.find() ? m.group(1) : "unknown";
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  /**
   * Counts what {@code MONITOR} shows on one server until closed: commands sent by clients and
   * commands run by scripts. A reader thread of its own drains the stream.
   */
  static final class Monitor implements AutoCloseable {
    private static final String MARKER = "rls-load-monitor-marker-";
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** Commands seen since the last {@link #take}: by clients (round trips) and by scripts. */
    record Counts(long client, long script) {}

    private final String host;
    private final int port;
    private final Socket socket;
    private final Thread reader;
    private final AtomicLong client = new AtomicLong();
    private final AtomicLong script = new AtomicLong();
    private final AtomicLong markersSeen = new AtomicLong();
    private long markersSent;

    Monitor(String host, int port) throws IOException {
      this.host = host;
      this.port = port;
      this.socket = new Socket();
      socket.connect(new InetSocketAddress(host, port), (int) TIMEOUT.toMillis());
      socket.getOutputStream().write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String ok = in.readLine();
      if (!"+OK".equals(ok)) {
        socket.close();
        throw new IOException("MONITOR answered " + ok);
      }
      this.reader = Thread.ofPlatform().daemon().name("rls-load-monitor").start(() -> read(in));
    }

    private void read(BufferedReader in) {
      try {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          if (line.contains(MARKER)) {
            markersSeen.incrementAndGet();
          } else if (line.contains(" lua]")) {
            script.incrementAndGet();
          } else if (line.startsWith("+")) {
            client.incrementAndGet();
          }
        }
      } catch (IOException e) {
        // closed
      }
    }

    /**
     * The commands seen since the last call: sends a marker (ECHO, not counted) from another
     * connection and waits until MONITOR has shown it, so every earlier command is counted.
     */
    Counts take() throws IOException, InterruptedException {
      long marker = ++markersSent;
      try (Socket other = new Socket()) {
        other.connect(new InetSocketAddress(host, port), (int) TIMEOUT.toMillis());
        OutputStream out = other.getOutputStream();
        out.write(("ECHO " + MARKER + marker + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        other.getInputStream().read(new byte[256]); // the echo's reply
      }
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (markersSeen.get() < marker) {
        if (System.nanoTime() > deadline) {
          throw new IOException("MONITOR did not show the marker within " + TIMEOUT.toSeconds() + " s");
        }
        Thread.sleep(1);
      }
      return new Counts(client.getAndSet(0), script.getAndSet(0));
    }

    @Override
    public void close() throws IOException {
      socket.close();
      try {
        reader.join(TIMEOUT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

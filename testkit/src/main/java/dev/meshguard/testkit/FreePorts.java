package dev.meshguard.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Finds TCP ports on {@value #LOOPBACK} that nothing listens on, for servers that tests start.
 *
 * <p>Why not bind port 0 and take what the kernel gives: that port comes from the ephemeral range,
 * the same range the kernel draws from for the local end of every outgoing connection. Between the
 * moment a port is handed out and the moment a server binds it (or binds it again after a restart),
 * a client socket may take it. So ports are drawn at random from below the ephemeral range (read
 * from {@code /proc/sys/net/ipv4/ip_local_port_range}), where the kernel never picks.
 *
 * <p>No port is handed out twice in one JVM, even after its server stopped: a fixture may restart a
 * server on the port it had. Another process can still take a port between the check and the bind;
 * servers that start on a port from here should retry with a new one when the bind fails.
 */
public final class FreePorts {
  /** The address the ports are free on. */
  public static final String LOOPBACK = "127.0.0.1";

  static final int LOWEST = 10_000;
  static final int HIGHEST = 65_535;
  private static final int ATTEMPTS = 10_000;
  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

  private static final Set<Integer> HANDED_OUT = new HashSet<>(); // guarded by FreePorts.class

  private FreePorts() {}

  /** Returns one free port. */
  public static int port() {
    return pairedPort(0);
  }

  /** Returns {@code count} distinct free ports. */
  public static List<Integer> ports(int count) {
    return pairedPorts(count, 0);
  }

  /**
   * Returns a port {@code p} such that {@code p} and {@code p + offset} are both free and at most
   * 65535; e.g. offset 10000 for a Redis Cluster node and its cluster bus.
   */
  public static int pairedPort(int offset) {
    return pairedPorts(1, offset).getFirst();
  }

  /** Returns {@code count} ports as {@link #pairedPort}; no port of one pair is in another. */
  public static synchronized List<Integer> pairedPorts(int count, int offset) {
    if (count < 1) {
      throw new IllegalArgumentException("count must be positive: " + count);
    }
    if (offset < 0 || LOWEST + offset > HIGHEST) {
      throw new IllegalArgumentException("offset out of range: " + offset);
    }
    List<Integer> ports = draw(count, offset, ephemeralRange());
    if (ports.size() < count) {
      // The ephemeral range leaves too little room (an unusual kernel setting): take any port.
      ports.forEach(port -> release(port, offset));
      ports = draw(count, offset, null);
    }
    if (ports.size() < count) {
      ports.forEach(port -> release(port, offset));
      throw new IllegalStateException(
          "Found only "
              + ports.size()
              + " of "
              + count
              + " free ports (offset "
              + offset
              + ") on "
              + LOOPBACK
              + " after "
              + ATTEMPTS
              + " attempts");
    }
    return List.copyOf(ports);
  }

  private static List<Integer> draw(int count, int offset, int[] ephemeral) {
    List<Integer> ports = new ArrayList<>(count);
    for (int attempt = 0; attempt < ATTEMPTS && ports.size() < count; attempt++) {
      int candidate = ThreadLocalRandom.current().nextInt(LOWEST, HIGHEST - offset + 1);
      boolean usable =
          isUsable(candidate, ephemeral)
              && isUsable(candidate + offset, ephemeral)
              && isFree(candidate)
              && (offset == 0 || isFree(candidate + offset));
      if (usable) {
        HANDED_OUT.add(candidate);
        HANDED_OUT.add(candidate + offset);
        ports.add(candidate);
      }
    }
    return ports;
  }

  private static void release(int port, int offset) {
    HANDED_OUT.remove(port);
    HANDED_OUT.remove(port + offset);
  }

  /** Returns whether a server could bind {@code port} on {@value #LOOPBACK} right now. */
  public static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      // Without SO_REUSEADDR a port that still has connections in TIME_WAIT counts as taken;
      // servers could bind it, but a conservative answer costs nothing.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(LOOPBACK, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean isUsable(int port, int[] ephemeral) {
    boolean inEphemeralRange = ephemeral != null && port >= ephemeral[0] && port <= ephemeral[1];
    return !inEphemeralRange && !HANDED_OUT.contains(port);
  }

  /** The kernel's ephemeral range as {low, high}, or null when it cannot be read. */
  static int[] ephemeralRange() {
    // Not Files.readString: /proc files report size 0, and it then returns only the first byte.
    try (BufferedReader reader = Files.newBufferedReader(EPHEMERAL_RANGE)) {
      String[] bounds = reader.readLine().trim().split("\\s+");
      return new int[] {Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1])};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}

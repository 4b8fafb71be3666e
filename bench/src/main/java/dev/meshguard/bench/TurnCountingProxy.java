package dev.meshguard.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy that counts round trips: a "turn" is client data that follows server data
 * on a connection (or opens it). A client that pipelines two commands before reading either reply
 * makes one turn; one that waits for the first reply before sending the second makes two. Redis's
 * own counters see commands, not round trips, so this is how the quota suite tells them apart.
 * Replies are held back {@value #REPLY_DELAY_MS} ms, so that a command the client sends without
 * waiting (pipelined, even in a write of its own) always reaches the proxy before the reply to the
 * one before it, and is not miscounted as a turn of its own.
 * Hand-written: no library counts request/response turns of an arbitrary TCP protocol.
 */
final class TurnCountingProxy implements AutoCloseable {
  static final long REPLY_DELAY_MS = 2;
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final AtomicLong turns = new AtomicLong();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  TurnCountingProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("bench-proxy-accept").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  long turns() {
    return turns.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        sockets.add(client);
        sockets.add(upstream);
        // true: the last bytes on this connection went from the server to the client.
        AtomicLong lastFromServer = new AtomicLong(1);
        Thread.ofVirtual().start(() -> pump(client, upstream, true, lastFromServer));
        Thread.ofVirtual().start(() -> pump(upstream, client, false, lastFromServer));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void pump(Socket from, Socket to, boolean fromClient, AtomicLong lastFromServer) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        if (fromClient) {
          if (lastFromServer.getAndSet(0) == 1) {
            turns.incrementAndGet();
          }
        } else {
          try {
            Thread.sleep(REPLY_DELAY_MS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          lastFromServer.set(1);
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // a side closed: the other pump ends too
    } finally {
      try {
        to.close();
        from.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }
}

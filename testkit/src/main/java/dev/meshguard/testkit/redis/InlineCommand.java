package dev.meshguard.testkit.redis;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Sends one Redis inline command over a plain socket and reads a simple, error, integer or bulk
 * string reply.
 *
 * <p>Used where a Lettuce client would cost more than the command: the checks that tell a server
 * has started (polled many times while it starts) and FLUSHALL between tests.
 */
final class InlineCommand {
  private static final int CONNECT_TIMEOUT_MILLIS = 500;
  private static final int MAX_LINE = 64 * 1024;

  private InlineCommand() {}

  /**
   * Returns the reply: the line of a simple ({@code +PONG}), error ({@code -LOADING ...}) or
   * integer ({@code :1}) reply, or the content of a bulk string reply.
   *
   * @param timeout how long to wait for the reply once connected
   */
  static String send(String host, int port, String command, Duration timeout) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
      socket.setSoTimeout(Math.toIntExact(timeout.toMillis()));
      OutputStream out = socket.getOutputStream();
      out.write((command + "\r\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      String line = readLine(in);
      if (!line.startsWith("$")) {
        return line;
      }
      int length = Integer.parseInt(line.substring(1));
      if (length < 0) {
        return null;
      }
      byte[] content = in.readNBytes(length);
      if (content.length < length) {
        throw new EOFException("bulk reply to " + command + " cut short");
      }
      return new String(content, StandardCharsets.UTF_8);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    for (int b = in.read(); b != -1; b = in.read()) {
      if (previous == '\r' && b == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("reply line longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
      previous = b;
    }
    throw new EOFException("connection closed before a full reply line");
  }
}

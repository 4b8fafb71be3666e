package dev.meshguard.ca.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * The SPIFFE bundle endpoint, {@code https_web} profile (SPIFFE_Federation.md §5): an HTTPS GET of
 * {@code /} answers the trust bundle as JSON ({@code application/json}, UTF-8). No client
 * authentication of any kind: neither a client certificate is asked for nor an authorization
 * header read. TLS 1.3 and 1.2 only (Mozilla "intermediate").
 *
 * <p>The JDK's HTTPS server is enough for one read-only document fetched every few minutes; its
 * {@link SSLContext} is the servers' TLS context's own (the mode's JSSE provider, following the
 * serving certificate as it is renewed). Handlers run on virtual threads.
 */
final class BundleEndpoint implements AutoCloseable {
  static final String CONTENT_TYPE = "application/json";
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final HttpsServer server;
  private final ExecutorService executor;

  private BundleEndpoint(HttpsServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * @param bundle the current bundle JSON; called per request, must not block
   * @throws IOException naming the address when it cannot be bound
   */
  static BundleEndpoint start(String host, int port, SSLContext tls, Supplier<String> bundle) throws IOException {
    HttpsServer https;
    try {
      https = HttpsServer.create(new InetSocketAddress(host, port), 0);
    } catch (IOException e) {
      throw new IOException("cannot bind the SPIFFE bundle endpoint to " + host + ":" + port + ": " + e.getMessage(), e);
    }
    https.setHttpsConfigurator(new HttpsConfigurator(tls) {
      @Override
      public void configure(HttpsParameters parameters) {
        SSLParameters ssl = tls.getDefaultSSLParameters();
        ssl.setProtocols(PROTOCOLS);
        ssl.setNeedClientAuth(false);
        ssl.setWantClientAuth(false);
        parameters.setSSLParameters(ssl);
      }
    });
    ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    https.setExecutor(executor);
    https.createContext("/", exchange -> handle(exchange, bundle));
    https.start();
    return new BundleEndpoint(https, executor);
  }

  private static void handle(HttpExchange exchange, Supplier<String> bundle) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      int status;
      String contentType;
      byte[] body;
      if (!exchange.getRequestURI().getPath().equals("/")) {
        status = 404;
        contentType = "text/plain; charset=utf-8";
        body = "not found: the SPIFFE bundle is at /\n".getBytes(StandardCharsets.UTF_8);
      } else if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        status = 405;
        contentType = "text/plain; charset=utf-8";
        body = "method not allowed: use GET\n".getBytes(StandardCharsets.UTF_8);
      } else {
        status = 200;
        contentType = CONTENT_TYPE;
        body = bundle.get().getBytes(StandardCharsets.UTF_8);
      }
      exchange.getResponseHeaders().set("Content-Type", contentType);
      if (method.equals("HEAD")) {
        exchange.sendResponseHeaders(status, -1);
        return;
      }
      exchange.sendResponseHeaders(status, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops accepting and lets in-flight requests finish for up to a second. */
  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
  }
}

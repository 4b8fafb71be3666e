package dev.meshguard.audit.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * A real HTTP collector on 127.0.0.1: records every batch it accepts (2xx), answers with a chosen
 * failure while told to, and can go away (closed port, connections refused) and come back on the
 * same port.
 */
final class Collector implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  enum Mode {
    ACCEPT(200), FAIL(500), THROTTLE(429), REFUSE(400);

    final int status;

    Mode(int status) {
      this.status = status;
    }
  }

  /** One accepted POST: its body and headers, and the events' ids and seqs in body order. */
  record Batch(byte[] body, Map<String, List<String>> headers, List<String> ids, List<Long> seqs) {}

  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.ACCEPT);
  private final List<Batch> accepted = new CopyOnWriteArrayList<>();
  private final AtomicInteger refusedRequests = new AtomicInteger();
  private final List<String> negotiated = new CopyOnWriteArrayList<>();
  private final int port;
  private final String scheme;
  private HttpServer server;

  private Collector(HttpServer server, String scheme) {
    this.server = server;
    this.port = server.getAddress().getPort();
    this.scheme = scheme;
  }

  static Collector start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    Collector collector = new Collector(server, "http");
    collector.serve(server);
    return collector;
  }

  /** A collector over TLS of {@code context} (it does not {@link #comeBack}: that listens in plain text). */
  static Collector startHttps(SSLContext context) throws IOException {
    return startHttps(context, List.of());
  }

  /** As {@link #startHttps(SSLContext)}, offering only {@code suites} (the context's defaults when empty). */
  static Collector startHttps(SSLContext context, List<String> suites) throws IOException {
    HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters parameters = context.getDefaultSSLParameters();
        if (!suites.isEmpty()) {
          parameters.setCipherSuites(suites.toArray(String[]::new));
        }
        params.setSSLParameters(parameters);
      }
    });
    Collector collector = new Collector(server, "https");
    collector.serve(server);
    return collector;
  }

  URI uri() {
    return URI.create(scheme + "://127.0.0.1:" + port + "/v1/audit");
  }

  void answer(Mode newMode) {
    mode.set(newMode);
  }

  /** Closes the port: connections are refused until {@link #comeBack}. */
  synchronized void goAway() {
    server.stop(0);
    server = null;
  }

  /** Listens on the same port again. */
  synchronized void comeBack() throws IOException {
    HttpServer again = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    serve(again);
    server = again;
  }

  List<Batch> batches() {
    return List.copyOf(accepted);
  }

  /** Every accepted event id, in arrival order, duplicates included. */
  List<String> ids() {
    List<String> ids = new ArrayList<>();
    accepted.forEach(batch -> ids.addAll(batch.ids()));
    return ids;
  }

  /** Every accepted seq, in arrival order, duplicates included. */
  List<Long> seqs() {
    List<Long> seqs = new ArrayList<>();
    accepted.forEach(batch -> seqs.addAll(batch.seqs()));
    return seqs;
  }

  /** Over TLS: the protocol and suite of every request's session ({@code "TLSv1.3 TLS_AES_128_GCM_SHA256"}). */
  List<String> negotiated() {
    return List.copyOf(negotiated);
  }

  /** Requests answered with a non-2xx status. */
  int refusedRequests() {
    return refusedRequests.get();
  }

  private void serve(HttpServer http) {
    http.setExecutor(executor);
    http.createContext("/v1/audit", this::handle);
    http.start();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange; InputStream in = exchange.getRequestBody()) {
      byte[] body = in.readAllBytes();
      if (exchange instanceof HttpsExchange https) {
        SSLSession session = https.getSSLSession();
        negotiated.add(session.getProtocol() + " " + session.getCipherSuite());
      }
      Mode now = mode.get();
      if (now != Mode.ACCEPT || !"POST".equals(exchange.getRequestMethod())) {
        refusedRequests.incrementAndGet();
        byte[] reply = ("refused: " + now).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(now == Mode.ACCEPT ? 405 : now.status, reply.length);
        exchange.getResponseBody().write(reply);
        return;
      }
      List<String> ids = new ArrayList<>();
      List<Long> seqs = new ArrayList<>();
      for (JsonNode event : JSON.readTree(body)) {
        ids.add(event.get("id").asText());
        seqs.add(event.get("seq").asLong());
      }
      java.util.TreeMap<String, List<String>> headers = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      headers.putAll(exchange.getRequestHeaders());
      accepted.add(new Batch(body, java.util.Collections.unmodifiableMap(headers), ids, seqs));
      exchange.sendResponseHeaders(204, -1);
    }
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(0);
    }
    executor.shutdownNow();
  }
}

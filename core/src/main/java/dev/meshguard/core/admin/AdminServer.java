package dev.meshguard.core.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.meshguard.core.Version;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * The admin HTTP server every meshguard process runs: {@code /healthz} (the process is alive),
 * {@code /readyz} (every component can serve), {@code /metrics} (Prometheus text) and
 * {@code /status} (JSON, see {@link StatusDocument}).
 *
 * <p>The JDK's {@link HttpServer} is enough here: four read-only endpoints scraped every few
 * seconds do not need Netty's machinery, and this keeps the admin port independent of the
 * decision servers' event loops. Handlers run on virtual threads.
 */
public final class AdminServer implements AutoCloseable {
  static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final Metrics metrics;
  private final String processName;
  private final boolean fipsMode;
  private final Instant startedAt;
  private final List<Component> components = new CopyOnWriteArrayList<>();
  // False until the process has started every server: /readyz must not send traffic to a
  // process whose later servers are still binding their ports.
  private volatile boolean started;
  private final ObjectMapper json = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .addModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .build();

  private AdminServer(HttpServer server, ExecutorService executor, Metrics metrics, String processName,
      boolean fipsMode, Instant startedAt) {
    this.server = server;
    this.executor = executor;
    this.metrics = metrics;
    this.processName = processName;
    this.fipsMode = fipsMode;
    this.startedAt = startedAt;
  }

  /**
   * Binds and starts the admin server. The server reports itself as component {@code admin}.
   *
   * @param processName what {@code /status} calls the process: {@code up}, {@code authz}, ...
   * @param fipsMode whether the process runs the FIPS provider in approved-only mode
   * @throws IOException when the address cannot be bound (the message names it)
   */
  public static AdminServer start(AdminOptions options, Metrics metrics, String processName, boolean fipsMode,
      Clock clock) throws IOException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(processName, "processName");
    InetSocketAddress bindAddress = new InetSocketAddress(options.host(), options.port());
    HttpServer http;
    try {
      http = HttpServer.create(bindAddress, 0);
    } catch (IOException e) {
      throw new IOException("cannot bind the admin server to " + options.host() + ":" + options.port()
          + ": " + e.getMessage(), e);
    }
    ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    http.setExecutor(executor);
    AdminServer admin = new AdminServer(http, executor, metrics, processName, fipsMode, clock.now());
    http.createContext("/healthz", exchange -> admin.handle(exchange, admin::healthz));
    http.createContext("/readyz", exchange -> admin.handle(exchange, admin::readyz));
    http.createContext("/metrics", exchange -> admin.handle(exchange, admin::metrics));
    http.createContext("/status", exchange -> admin.handle(exchange, admin::status));
    http.createContext("/", exchange -> admin.handle(exchange, () -> new Response(404, "text/plain; charset=utf-8",
        "not found: the admin server serves /healthz /readyz /metrics /status\n")));
    admin.register(() -> admin.started
        ? ComponentStatus.ready("admin", null, Map.of("http", admin.endpoint()))
        : ComponentStatus.notReady("admin", "starting", null, Map.of("http", admin.endpoint())));
    http.start();
    return admin;
  }

  /**
   * Says the process has started every server: until then {@code /readyz} answers 503
   * ({@code admin (starting)}), however ready the registered components are.
   */
  public void markStarted() {
    started = true;
  }

  /** Adds a component to {@code /status} and {@code /readyz}. */
  public void register(Component component) {
    components.add(Objects.requireNonNull(component, "component"));
  }

  /**
   * Serves {@code path} and everything under it with {@code handler} (an admin API of a
   * component, e.g. the quota API). The handler answers every method itself; it runs on the admin
   * server's virtual threads.
   */
  public void route(String path, com.sun.net.httpserver.HttpHandler handler) {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(handler, "handler");
    server.createContext(path, handler);
  }

  /** The bound address (the real port when 0 was asked for). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** {@code host:port} of the bound address. */
  public String endpoint() {
    InetSocketAddress address = address();
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  /** The current status document, as {@code /status} serves it. */
  StatusDocument statusDocument() {
    List<ComponentStatus> statuses = new ArrayList<>();
    for (Component component : components) {
      statuses.add(component.status());
    }
    List<ComponentStatus> served = statuses.stream().filter(s -> !s.component().equals("admin")).toList();
    String revision = served.size() == 1 ? served.get(0).revision() : null;
    boolean ready = statuses.stream().allMatch(ComponentStatus::ready);
    return new StatusDocument(processName, Version.current(), revision, fipsMode, ready, startedAt, statuses);
  }

  private Response healthz() {
    return Response.text(200, "ok\n");
  }

  private Response readyz() {
    List<ComponentStatus> notReady = statusDocument().components().stream().filter(s -> !s.ready()).toList();
    if (notReady.isEmpty()) {
      return Response.text(200, "ready\n");
    }
    return Response.text(503, "not ready: " + notReady.stream()
        .map(s -> s.component() + " (" + s.notReadyReason() + ")")
        .collect(Collectors.joining(", ")) + "\n");
  }

  private Response metrics() {
    return new Response(200, PROMETHEUS_CONTENT_TYPE, metrics.scrape());
  }

  private Response status() {
    try {
      return new Response(200, "application/json", json.writeValueAsString(statusDocument()) + "\n");
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void handle(HttpExchange exchange, java.util.function.Supplier<Response> endpoint) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      Response response;
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        response = Response.text(405, "method not allowed: use GET\n");
      } else {
        try {
          response = endpoint.get();
        } catch (RuntimeException e) {
          response = Response.text(500, "internal error: " + e.getClass().getSimpleName() + "\n");
        }
      }
      byte[] body = response.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", response.contentType());
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      if (method.equals("HEAD")) {
        exchange.sendResponseHeaders(response.status(), -1);
        return;
      }
      exchange.sendResponseHeaders(response.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** Stops accepting, lets in-flight admin requests finish for up to a second, then stops. */
  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
  }

  private record Response(int status, String contentType, String body) {
    static Response text(int status, String body) {
      return new Response(status, "text/plain; charset=utf-8", body);
    }
  }
}

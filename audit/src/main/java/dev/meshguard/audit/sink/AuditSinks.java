package dev.meshguard.audit.sink;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The sinks a config asks for, started together and closed together, with their meters. Start
 * them before the log they read and close them after it (reverse start order does that), so the
 * log's last checkpoint is shipped too.
 */
public final class AuditSinks implements AutoCloseable {
  private final List<AutoCloseable> running;
  private final HttpSink http;

  private AuditSinks(List<AutoCloseable> running, HttpSink http) {
    this.running = running;
    this.http = http;
  }

  /** The setting named in errors about the HTTP sink's TLS. */
  static final String HTTP_TLS_SETTING = "audit.sinks.http";

  /**
   * Starts the sinks {@code config} enables for the log in {@code directory}.
   *
   * @param crypto the provider of the HTTP sink's TLS to an {@code https} collector (trusting the
   *     JVM's default trust store)
   */
  public static AuditSinks start(AuditSinksConfig config, Path directory, PrintStream stdout, Clock clock,
      MeterRegistry registry, Crypto crypto) throws IOException, ConfigException {
    List<AutoCloseable> running = new ArrayList<>();
    HttpSink http = null;
    try {
      if (config.stdout()) {
        StdoutSink sink = StdoutSink.create(StdoutSinkOptions.in(directory), stdout, clock);
        sink.start();
        running.add(sink);
        FunctionCounter.builder("meshguard_audit_sink_events", sink, StdoutSink::linesPrinted).tag("sink", "stdout")
            .register(registry);
      }
      if (config.http().enabled()) {
        http = HttpSink.create(config.http().toOptions(directory), clock,
            ClientTls.load(crypto, HTTP_TLS_SETTING, null, null, null));
        http.start();
        running.add(http);
        FunctionCounter.builder("meshguard_audit_sink_events", http, HttpSink::eventsSent).tag("sink", "http")
            .register(registry);
        FunctionCounter.builder("meshguard_audit_sink_failures", http, HttpSink::failures).tag("sink", "http")
            .register(registry);
        FunctionCounter.builder("meshguard_audit_sink_rejections", http, HttpSink::rejections).tag("sink", "http")
            .register(registry);
        Gauge.builder("meshguard_audit_sink_lag_events", http, HttpSink::lag).tag("sink", "http")
            .description("events on disk not yet acknowledged by the collector").register(registry);
      }
    } catch (IOException | ConfigException | RuntimeException e) {
      new AuditSinks(running, http).close();
      throw e;
    }
    return new AuditSinks(running, http);
  }

  /** The HTTP sink, when one runs. */
  public Optional<HttpSink> http() {
    return Optional.ofNullable(http);
  }

  /** Ships what is on disk within each sink's close timeout, then stops. */
  @Override
  public void close() {
    for (int i = running.size() - 1; i >= 0; i--) {
      try {
        running.get(i).close();
      } catch (Exception e) {
        System.getLogger(AuditSinks.class.getName()).log(System.Logger.Level.WARNING, "closing an audit sink", e);
      }
    }
  }
}

package dev.meshguard.audit.sink;

import dev.meshguard.core.config.Range;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The {@code audit.sinks} section: where the log is shipped besides its local segments.
 * <pre>{@code
 * sinks:
 *   stdout: true                       # every new line to stdout, for container log collectors
 *   http:
 *     url: https://collector.example/v1/audit
 *     batch_size: 500
 *     max_batch_delay: 1s
 *     headers: {x-tenant: platform}
 *     authorization_file: /var/run/secrets/audit-token   # its content becomes the Authorization header
 * }</pre>
 *
 * @param stdout whether to print new lines to stdout
 * @param http the HTTP collector; disabled while its url is empty
 */
public record AuditSinksConfig(boolean stdout, Http http) {
  public static final AuditSinksConfig DEFAULTS = new AuditSinksConfig(false, Http.DEFAULTS);

  /**
   * The HTTP sink.
   *
   * @param url the collector's URL (http or https); empty disables the sink
   * @param batchSize events per POST at most
   * @param maxBatchDelay how long a short batch waits for more events
   * @param headers extra request headers (not for secrets: they sit in the config file)
   * @param authorizationFile a file whose content (trimmed) is sent as the Authorization header;
   *     read at start, never logged
   */
  public record Http(String url, @Range(min = "1", max = "100000") int batchSize,
      @Range(min = "1ms", max = "1h") Duration maxBatchDelay, Map<String, String> headers, Path authorizationFile) {
    public static final Http DEFAULTS = new Http("", HttpSinkOptions.DEFAULT_BATCH_SIZE,
        HttpSinkOptions.DEFAULT_MAX_BATCH_DELAY, Map.of(), null);

    public Http {
      url = url == null ? "" : url;
      headers = headers == null ? Map.of() : Map.copyOf(headers);
      if (!url.isEmpty() && !(url.startsWith("http://") || url.startsWith("https://"))) {
        throw new IllegalArgumentException("url must start with http:// or https://, found \"" + url + "\"");
      }
    }

    public boolean enabled() {
      return !url.isEmpty();
    }

    /** The sink's options for the log in {@code directory}. */
    public HttpSinkOptions toOptions(Path directory) throws IOException {
      HttpSinkOptions options = HttpSinkOptions.to(URI.create(url), directory)
          .withBatchSize(batchSize).withMaxBatchDelay(maxBatchDelay);
      for (var header : headers.entrySet()) {
        options = options.withHeader(header.getKey(), header.getValue());
      }
      if (authorizationFile != null) {
        options = options.withHeader("Authorization", Files.readString(authorizationFile).trim());
      }
      return options;
    }
  }
}

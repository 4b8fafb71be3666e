package dev.meshguard.audit.sink;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Settings of an {@link HttpSink}. Immutable; start from {@link #to} and change with the
 * {@code with...} methods. {@link #toString()} never shows header values (they are credentials).
 *
 * @param collector where batches are POSTed ({@code http} or {@code https})
 * @param directory the audit directory: the segments are read from it and the cursor file is kept in it
 * @param batchSize events per POST at most
 * @param maxBatchDelay how long a batch that is not full waits for more events before it is sent
 * @param pollInterval how often the sink looks for new lines when it has none
 * @param connectTimeout how long a TCP (and TLS) connection to the collector may take
 * @param requestTimeout how long one POST may take, response included
 * @param closeTimeout how long {@link HttpSink#close} keeps shipping what is on disk
 * @param backoff the waits between retries of a failed batch
 * @param cursorFileName the name of the cursor file in {@code directory}
 * @param headers extra request headers, such as {@code Authorization}; sorted by name
 */
public record HttpSinkOptions(
    URI collector,
    Path directory,
    int batchSize,
    Duration maxBatchDelay,
    Duration pollInterval,
    Duration connectTimeout,
    Duration requestTimeout,
    Duration closeTimeout,
    Backoff backoff,
    String cursorFileName,
    SortedMap<String, String> headers) {

  public static final int DEFAULT_BATCH_SIZE = 500;
  public static final int MAX_BATCH_SIZE = 100_000;
  public static final Duration DEFAULT_MAX_BATCH_DELAY = Duration.ofSeconds(1);
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(200);
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);
  public static final String DEFAULT_CURSOR_FILE_NAME = "http-sink.cursor";

  /** Headers the sink sets itself or the HTTP client controls; configuring them is a mistake. */
  private static final Set<String> RESERVED_HEADERS =
      Set.of("connection", "content-length", "content-type", "expect", "host", "transfer-encoding", "upgrade");

  public HttpSinkOptions {
    Objects.requireNonNull(collector, "collector");
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(backoff, "backoff");
    Objects.requireNonNull(cursorFileName, "cursorFileName");
    Objects.requireNonNull(headers, "headers");
    String scheme = collector.getScheme() == null ? "" : collector.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || collector.getHost() == null) {
      throw new IllegalArgumentException("collector must be an http or https URL with a host, found "
          + redact(collector));
    }
    if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new IllegalArgumentException("batchSize must be between 1 and " + MAX_BATCH_SIZE + ", found " + batchSize);
    }
    requirePositive(maxBatchDelay, "maxBatchDelay", true);
    requirePositive(pollInterval, "pollInterval", false);
    requirePositive(connectTimeout, "connectTimeout", false);
    requirePositive(requestTimeout, "requestTimeout", false);
    requirePositive(closeTimeout, "closeTimeout", true);
    if (cursorFileName.isEmpty() || cursorFileName.contains("/") || cursorFileName.contains("\\")
        || cursorFileName.startsWith(".") || cursorFileName.startsWith("audit-")) {
      throw new IllegalArgumentException("cursorFileName must be a plain file name that does not start with '.'"
          + " or 'audit-', found '" + cursorFileName + "'");
    }
    TreeMap<String, String> checked = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((name, value) -> {
      checkHeader(name, value);
      if (checked.put(name, value) != null) {
        throw new IllegalArgumentException("header " + name + " is configured twice");
      }
    });
    headers = java.util.Collections.unmodifiableSortedMap(checked);
  }

  /** Defaults, shipping the log in {@code directory} to {@code collector}. */
  public static HttpSinkOptions to(URI collector, Path directory) {
    return new HttpSinkOptions(collector, directory, DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_DELAY,
        DEFAULT_POLL_INTERVAL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_CLOSE_TIMEOUT,
        Backoff.DEFAULT, DEFAULT_CURSOR_FILE_NAME, new TreeMap<>());
  }

  public HttpSinkOptions withBatchSize(int size) {
    return new HttpSinkOptions(collector, directory, size, maxBatchDelay, pollInterval, connectTimeout,
        requestTimeout, closeTimeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withMaxBatchDelay(Duration delay) {
    return new HttpSinkOptions(collector, directory, batchSize, delay, pollInterval, connectTimeout,
        requestTimeout, closeTimeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withPollInterval(Duration interval) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, interval, connectTimeout,
        requestTimeout, closeTimeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withConnectTimeout(Duration timeout) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, timeout,
        requestTimeout, closeTimeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withRequestTimeout(Duration timeout) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, connectTimeout,
        timeout, closeTimeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withCloseTimeout(Duration timeout) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, connectTimeout,
        requestTimeout, timeout, backoff, cursorFileName, headers);
  }

  public HttpSinkOptions withBackoff(Backoff newBackoff) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, connectTimeout,
        requestTimeout, closeTimeout, newBackoff, cursorFileName, headers);
  }

  public HttpSinkOptions withCursorFileName(String name) {
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, connectTimeout,
        requestTimeout, closeTimeout, backoff, name, headers);
  }

  /** Adds (or replaces, names compared ignoring case) one request header. */
  public HttpSinkOptions withHeader(String name, String value) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(value, "value");
    TreeMap<String, String> more = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    more.putAll(headers);
    more.remove(name);
    more.put(name, value);
    return new HttpSinkOptions(collector, directory, batchSize, maxBatchDelay, pollInterval, connectTimeout,
        requestTimeout, closeTimeout, backoff, cursorFileName, more);
  }

  /** The cursor file's path. */
  public Path cursorFile() {
    return directory.resolve(cursorFileName);
  }

  /** The collector URL without user info, query or fragment: safe to log. */
  public String collectorForLogs() {
    return redact(collector);
  }

  @Override
  public String toString() {
    return "HttpSinkOptions[collector=" + collectorForLogs() + ", directory=" + directory + ", batchSize=" + batchSize
        + ", maxBatchDelay=" + maxBatchDelay + ", pollInterval=" + pollInterval + ", connectTimeout="
        + connectTimeout + ", requestTimeout=" + requestTimeout + ", closeTimeout=" + closeTimeout + ", backoff="
        + backoff + ", cursorFileName=" + cursorFileName + ", headers="
        + headers.keySet().stream().map(name -> name + "=<redacted>").collect(Collectors.joining(", ", "{", "}"))
        + "]";
  }

  private static String redact(URI uri) {
    String host = uri.getHost() == null ? "" : uri.getHost();
    return (uri.getScheme() == null ? "" : uri.getScheme() + "://") + host
        + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + (uri.getRawPath() == null ? "" : uri.getRawPath());
  }

  private static void requirePositive(Duration duration, String name, boolean zeroAllowed) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || (!zeroAllowed && duration.isZero())) {
      throw new IllegalArgumentException(name + " must be " + (zeroAllowed ? "zero or more" : "positive")
          + ", found " + duration);
    }
  }

  // RFC 9110 §5.1 (field names are tokens) and §5.5 (no CR, LF or NUL in values). The value is
  // never put in a message: it is usually a credential.
  private static void checkHeader(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "value of header " + name);
    if (name.isEmpty() || !name.chars().allMatch(HttpSinkOptions::isTokenChar)) {
      throw new IllegalArgumentException("header name '" + name + "' is not an HTTP token");
    }
    if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException("header " + name + " is set by the sink or the HTTP client, not configurable");
    }
    if (value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0 || c > 0xff)) {
      throw new IllegalArgumentException("the value of header " + name + " contains CR, LF, NUL or non-Latin-1 characters");
    }
  }

  private static boolean isTokenChar(int c) {
    return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }
}

package dev.meshguard.audit.sink;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Ships the audit log to an HTTP collector: batches of events POSTed as a JSON array.
 *
 * <p>Wire format: {@code POST <collector>} with {@code Content-Type: application/json} and a body
 * that is a JSON array of the events exactly as in the log, i.e. {@code [} + the lines' bytes
 * without their newlines, joined by {@code ,} + {@code ]}; plus any configured headers. A 2xx
 * response acknowledges the whole batch. Events are sent in chain order and each keeps its
 * {@code seq}, {@code prev} and {@code hash}, so the collector can verify the chain.
 *
 * <p>Design. The segments on disk are the buffer. One thread tails them ({@link SegmentTailer})
 * from the acknowledged position, fills a batch up to {@code batchSize} lines or until the oldest
 * line has waited {@code maxBatchDelay}, and POSTs it. A failed POST is retried, the same batch with
 * the same bytes, after a capped exponential {@link Backoff} with jitter, for as long as it takes:
 * connection errors, 5xx and 429 count as {@link #failures}; any other non-2xx (a 4xx: a bad token,
 * a body the collector refuses) counts as a {@link #rejections rejection}, is logged as severe and
 * is retried too, because skipping it would lose events from an audit trail. While the collector is
 * down the log keeps growing on disk and {@link #lag} says by how much.
 *
 * <p>Delivery is at least once. After a 2xx the sink records the batch's last seq in the cursor file
 * ({@link HttpSinkOptions#cursorFile}, replaced atomically and fsynced), and a new sink starts
 * after it, so nothing acknowledged is sent again by a clean restart. Two windows can repeat a
 * batch: a crash (or a failed cursor write) between the collector's 2xx and the cursor write, and a
 * POST whose response was lost (timeout, reset) although the collector stored it. The collector
 * deduplicates by the event {@code id}, or by {@code seq} within one log.
 *
 * <p>Header values are credentials: they are sent, never logged (nor shown by the options'
 * {@code toString}). Logs name the collector without user info or query.
 */
public final class HttpSink implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HttpSink.class.getName());
  /** Bytes of a refusing response's body quoted in the log. */
  static final int MAX_LOGGED_BODY = 256;
  /** During a long outage, one attempt in this many is logged at the outage's level. */
  private static final int LOG_EVERY_NTH_FAILURE = 50;

  private final HttpSinkOptions options;
  private final Clock clock;
  private final DoubleSupplier random;
  private final HttpClient client;
  private final CursorFile cursor;
  private final Pacer pacer = new Pacer();
  private final Thread thread;
  // Lifecycle, guarded by this.
  private boolean started;
  private boolean closed;

  private final AtomicLong batchesSent = new AtomicLong();
  private final AtomicLong eventsSent = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong rejections = new AtomicLong();
  private final AtomicLong logErrors = new AtomicLong();
  private final AtomicLong cursorErrors = new AtomicLong();
  private final AtomicLong acknowledged = new AtomicLong();
  private final AtomicLong lastSeqOnDisk = new AtomicLong();

  // Written by close() before it sets closing (volatile), read by the sink thread after it sees it.
  private long closeDeadlineNanos;
  private volatile boolean closing;
  private volatile boolean abandoned;

  // Sink-thread state.
  private SegmentTailer tailer;
  private long lastProbeNanos;
  private int failureStreak;
  private boolean logErrorReported;

  private HttpSink(HttpSinkOptions options, Clock clock, DoubleSupplier random, ClientTls tls)
      throws ConfigException {
    this.options = options;
    this.clock = clock;
    this.random = random;
    this.cursor = new CursorFile(options.cursorFile());
    this.client = HttpClient.newBuilder()
        .connectTimeout(options.connectTimeout())
        // HTTP/1.1 keeps plain-text collectors simple (no h2c upgrade); https still negotiates by ALPN.
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .sslContext(tls.sslContext())
        .sslParameters(tls.sslParameters())
        .build();
    this.thread = Thread.ofPlatform().name("meshguard-audit-http-sink").daemon(true).unstarted(this::run);
  }

  /**
   * A sink that is not running yet; {@link #start} starts it.
   *
   * @param tls the TLS of an {@code https} collector: the server's {@code Crypto} (BCJSSE in FIPS
   *     mode) and the CAs the collector must chain to
   * @throws ConfigException when the provider cannot build a TLS context from {@code tls}
   */
  public static HttpSink create(HttpSinkOptions options, Clock clock, ClientTls tls) throws ConfigException {
    return create(options, clock, tls, () -> ThreadLocalRandom.current().nextDouble());
  }

  /** As {@link #create(HttpSinkOptions, Clock, ClientTls)} in default mode, trusting the JVM's trust store. */
  static HttpSink create(HttpSinkOptions options, Clock clock) throws ConfigException {
    return create(options, clock, ClientTls.load(Crypto.install(CryptoMode.DEFAULT), AuditSinks.HTTP_TLS_SETTING,
        null, null, null));
  }

  /** As {@link #create(HttpSinkOptions, Clock, ClientTls)}, with the jitter's random source injected. */
  static HttpSink create(HttpSinkOptions options, Clock clock, ClientTls tls, DoubleSupplier random)
      throws ConfigException {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(random, "random");
    return new HttpSink(options, clock, random, tls);
  }

  /**
   * Reads the cursor file and starts shipping the events after it (the whole log when there is no
   * cursor file yet).
   *
   * @throws IOException when the cursor file exists but cannot be read; the sink does not start
   * @throws IllegalStateException when called twice or after {@link #close}
   */
  public synchronized void start() throws IOException {
    if (closed || started) {
      throw new IllegalStateException("an HttpSink starts once, before close()");
    }
    OptionalLong fromCursor = cursor.read();
    long from = fromCursor.orElse(0);
    acknowledged.set(from);
    tailer = SegmentTailer.after(options.directory(), from, options.pollInterval(), clock, pacer);
    probeLastSeqOnDisk();
    lastProbeNanos = clock.nanoTime();
    if (fromCursor.isPresent() && from > lastSeqOnDisk.get()) {
      LOG.warning("audit HTTP sink: the cursor " + cursor.path() + " says seq " + from + " was acknowledged but the"
          + " log ends at seq " + lastSeqOnDisk.get() + "; events up to seq " + from + " will not be shipped");
    }
    LOG.info("audit HTTP sink: shipping " + options.directory() + " to " + options.collectorForLogs()
        + (from == 0 ? " from the start" : " after seq " + from));
    started = true;
    thread.start();
  }

  /**
   * Stops the sink, first shipping what is on disk for up to {@code closeTimeout} (without waiting
   * for batches to fill). What is not acknowledged by then is shipped by the next sink on this
   * directory. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (started) {
        closeDeadlineNanos = clock.nanoTime() + options.closeTimeout().toNanos();
        closing = true;
      }
    }
    if (closing) {
      pacer.wake();
      try {
        // The deadline is on the sink's clock; the join bounds close() in real time whatever the clock does.
        if (!thread.join(options.closeTimeout().plus(options.pollInterval()).plusMillis(100))) {
          abandoned = true;
          client.shutdownNow(); // fails a POST in flight at once
          pacer.wake();
          thread.join(Duration.ofSeconds(5));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    client.shutdownNow();
  }

  /**
   * The client of the POSTs. Its {@code sslContext()} shows the provider (the JDK client wraps the
   * handshake's session, hiding the provider's own session class).
   */
  HttpClient httpClient() {
    return client;
  }

  /** Batches the collector acknowledged (2xx) since start. */
  public long batchesSent() {
    return batchesSent.get();
  }

  /** Events in acknowledged batches since start. */
  public long eventsSent() {
    return eventsSent.get();
  }

  /** POST attempts that failed with a connection error, a timeout, a 5xx or a 429; each is retried. */
  public long failures() {
    return failures.get();
  }

  /** POST attempts the collector refused with another non-2xx status (a 4xx); each is logged and retried. */
  public long rejections() {
    return rejections.get();
  }

  /** Reads of the log that failed or met damage ({@link SegmentFormatException}); shipping waits there. */
  public long logErrors() {
    return logErrors.get();
  }

  /** Acknowledged batches whose cursor could not be recorded (a restart would send them again). */
  public long cursorErrors() {
    return cursorErrors.get();
  }

  /** The seq of the last event the collector acknowledged (from the cursor file at start). */
  public long acknowledgedSeq() {
    return acknowledged.get();
  }

  /**
   * Events on disk not acknowledged yet: the last complete line's seq minus {@link #acknowledgedSeq}.
   * The end of the log is re-read at most once per poll interval, so this may trail by that much.
   */
  public long lag() {
    return Math.max(0, lastSeqOnDisk.get() - acknowledged.get());
  }

  private void run() {
    int batchSize = options.batchSize();
    long maxDelayNanos = options.maxBatchDelay().toNanos();
    long pollNanos = options.pollInterval().toNanos();
    List<LogLine> batch = new ArrayList<>(Math.min(batchSize, 1024));
    long batchStartedNanos = 0;
    int attempt = 0; // failed attempts of the batch in hand; a batch once sent is retried unchanged
    try {
      while (!abandoned) {
        if (closing && clock.nanoTime() - closeDeadlineNanos >= 0) {
          break;
        }
        if (attempt == 0 && batch.size() < batchSize) {
          boolean wasEmpty = batch.isEmpty();
          batch.addAll(readLog(batchSize - batch.size()));
          if (wasEmpty && !batch.isEmpty()) {
            batchStartedNanos = clock.nanoTime();
          }
        }
        probeLastSeqOnDiskEvery(pollNanos);
        if (batch.isEmpty()) {
          if (closing) {
            break; // everything on disk is acknowledged
          }
          pacer.pause(pollNanos);
          continue;
        }
        if (attempt == 0 && !closing && batch.size() < batchSize) {
          long waited = clock.nanoTime() - batchStartedNanos;
          if (waited < maxDelayNanos) {
            pacer.pause(Math.min(pollNanos, maxDelayNanos - waited));
            continue;
          }
        }
        if (send(batch)) {
          batch.clear();
          attempt = 0;
        } else {
          attempt++;
          long wait = options.backoff().delay(attempt, random.getAsDouble()).toNanos();
          if (closing) {
            wait = Math.min(wait, closeDeadlineNanos - clock.nanoTime());
          }
          if (wait > 0) {
            pacer.pause(wait);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "audit HTTP sink stopped by an unexpected error; events stay on disk for the next start", e);
    } finally {
      probeLastSeqOnDisk();
      try {
        tailer.close();
      } catch (IOException e) {
        LOG.log(Level.FINE, "closing the audit tailer", e);
      }
    }
  }

  private List<LogLine> readLog(int max) {
    try {
      List<LogLine> lines = tailer.poll(max);
      if (logErrorReported && !lines.isEmpty()) {
        logErrorReported = false;
        LOG.info("audit HTTP sink: reading the log again");
      }
      lastSeqOnDisk.accumulateAndGet(tailer.position(), Math::max);
      return lines;
    } catch (IOException e) {
      logErrors.incrementAndGet();
      if (!logErrorReported) {
        logErrorReported = true;
        LOG.log(Level.SEVERE, "audit HTTP sink: cannot read the audit log past seq " + tailer.position()
            + "; shipping waits here and retries every poll interval (run `meshguard audit verify`)", e);
      }
      return List.of();
    }
  }

  /** POSTs the batch once; true when the collector acknowledged it. */
  private boolean send(List<LogLine> batch) throws InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(options.collector())
        .timeout(options.requestTimeout())
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body(batch)));
    options.headers().forEach(request::header);
    int status;
    String responseHead;
    try {
      HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      status = response.statusCode();
      try (InputStream in = response.body()) {
        responseHead = status / 100 == 2 ? "" : printable(in.readNBytes(MAX_LOGGED_BODY));
      }
    } catch (IOException e) {
      failed(failures, Level.WARNING, batch, "the POST failed: " + e);
      return false;
    }
    if (status / 100 == 2) {
      acknowledge(batch);
      return true;
    }
    String detail = "the collector answered " + status + (responseHead.isEmpty() ? "" : ": " + responseHead);
    if (status == 429 || status >= 500) {
      failed(failures, Level.WARNING, batch, detail);
    } else {
      failed(rejections, Level.SEVERE, batch, detail + " (a refusal that retrying alone will not fix: check the"
          + " collector's configuration and credentials)");
    }
    return false;
  }

  /** The JSON array of the batch's events: the lines' bytes without newlines, comma-separated. */
  static byte[] body(List<LogLine> batch) {
    int size = 2 + batch.size() - 1;
    for (LogLine line : batch) {
      size += line.jsonLength();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(size);
    out.write('[');
    for (int i = 0; i < batch.size(); i++) {
      if (i > 0) {
        out.write(',');
      }
      batch.get(i).writeJsonTo(out);
    }
    out.write(']');
    return out.toByteArray();
  }

  private void acknowledge(List<LogLine> batch) {
    LogLine last = batch.get(batch.size() - 1);
    if (failureStreak > 0) {
      LOG.info("audit HTTP sink: " + options.collectorForLogs() + " acknowledged again after " + failureStreak
          + " failed attempts; catching up from seq " + batch.get(0).seq());
      failureStreak = 0;
    }
    try {
      cursor.write(last.seq(), last.id());
    } catch (IOException e) {
      cursorErrors.incrementAndGet();
      LOG.log(Level.SEVERE, "audit HTTP sink: could not record seq " + last.seq() + " as acknowledged in "
          + cursor.path() + "; a restart would send those events again", e);
    }
    // Published only after the cursor write, so whoever sees acknowledgedSeq() reach a seq also
    // finds it in the cursor file (or counted in cursorErrors()).
    batchesSent.incrementAndGet();
    eventsSent.addAndGet(batch.size());
    acknowledged.set(last.seq());
  }

  private void failed(AtomicLong counter, Level level, List<LogLine> batch, String detail) {
    counter.incrementAndGet();
    failureStreak++;
    Level logLevel = failureStreak == 1 || failureStreak % LOG_EVERY_NTH_FAILURE == 0 ? level : Level.FINE;
    if (LOG.isLoggable(logLevel)) {
      LOG.log(logLevel, "audit HTTP sink: batch seq " + batch.get(0).seq() + ".." + batch.get(batch.size() - 1).seq()
          + " to " + options.collectorForLogs() + " not acknowledged (attempt " + failureStreak + "): " + detail
          + "; retrying with backoff, the events stay on disk");
    }
  }

  private void probeLastSeqOnDiskEvery(long intervalNanos) {
    long now = clock.nanoTime();
    if (now - lastProbeNanos >= intervalNanos) {
      lastProbeNanos = now;
      probeLastSeqOnDisk();
    }
  }

  private void probeLastSeqOnDisk() {
    try {
      long last = tailer.lastSeqOnDisk();
      lastSeqOnDisk.accumulateAndGet(last, Math::max);
    } catch (IOException e) {
      // Only the lag gauge depends on it; reading the log itself reports damage.
      LOG.log(Level.FINE, "audit HTTP sink: reading the end of the log", e);
    }
  }

  private static String printable(byte[] bytes) {
    StringBuilder out = new StringBuilder();
    new String(bytes, StandardCharsets.UTF_8).codePoints()
        .forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? ' ' : c));
    return out.toString().strip();
  }
}

package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.AuditOptions;
import dev.meshguard.core.time.Clock;
import dev.meshguard.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StdoutSinkTest {
  /** A bound for a loaded machine (a TLS handshake there took seconds); awaits return as soon as it holds. */
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  private StdoutSinkOptions fast() {
    return StdoutSinkOptions.in(dir).withPollInterval(Duration.ofMillis(10)).withMaxLinesPerWrite(7);
  }

  private String printed() {
    synchronized (out) { // PrintStream writes hold its lock
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void printsExactlyTheLinesWrittenAfterStartAcrossRotatedSegments() throws Exception {
    long start;
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048))) {
      log.append(5);
      try (StdoutSink sink = StdoutSink.create(fast(), out, Clock.SYSTEM)) {
        sink.start();
        // The end of the log at start: the five events, and the checkpoint sealing a full segment if the
        // writer had written it by then.
        start = sink.position();
        assertThat(start).isBetween(5L, 6L);
        log.append(40);
        log.finish(); // nothing more will be written
        long last = log.lastSeq();
        long expected = last - start;
        Await.until(WAIT, () -> sink.linesPrinted() == expected,
            () -> expected + " lines printed, found " + sink.linesPrinted());
        assertThat(sink.position()).isEqualTo(last);
      }
      assertThat(log.segmentCount()).isGreaterThan(3);
      List<String> lines = log.lines();
      String printed = printed();
      assertThat(printed).isEqualTo(String.join("", lines.subList((int) start, lines.size())));
      assertThat(printed).contains(log.ids().subList(5, 45)).doesNotContain(log.ids().subList(0, 5));
    }
  }

  @Test
  void startsAfterAConfiguredSeq() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      log.append(6);
      try (StdoutSink sink = StdoutSink.create(fast().withStart(StdoutSinkOptions.Start.afterSeq(3)), out,
          Clock.SYSTEM)) {
        sink.start();
        log.append(2);
        Await.until(WAIT, () -> sink.linesPrinted() == 5, () -> "5 lines printed, found " + sink.linesPrinted());
      }
      assertThat(printed()).isEqualTo(String.join("", log.lines().subList(3, 8)));
    }
  }

  @Test
  void closePrintsWhatIsOnDiskBeforeItReturns() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      StdoutSink sink = StdoutSink.create(fast().withPollInterval(Duration.ofHours(1)), out, Clock.SYSTEM);
      sink.start();
      log.append(3);
      sink.close();
      assertThat(printed()).isEqualTo(String.join("", log.lines()));
      assertThatThrownBy(sink::start).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aBrokenOutputIsCountedAndTheLinesStayOnDisk() throws Exception {
    PrintStream broken = new PrintStream(new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("broken pipe");
      }
    }, false, StandardCharsets.UTF_8);
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        StdoutSink sink = StdoutSink.create(fast(), broken, Clock.SYSTEM)) {
      sink.start();
      log.append(2);
      Await.until(WAIT, () -> sink.writeErrors() >= 1, () -> "a write error counted");
      assertThat(sink.linesPrinted()).isZero();
    }
  }

  @Test
  void optionsHaveNamedDefaultsAndRefuseNonsense() {
    StdoutSinkOptions defaults = StdoutSinkOptions.in(dir);
    assertThat(defaults).isEqualTo(new StdoutSinkOptions(dir, StdoutSinkOptions.Start.END,
        StdoutSinkOptions.DEFAULT_POLL_INTERVAL, StdoutSinkOptions.DEFAULT_MAX_LINES_PER_WRITE,
        StdoutSinkOptions.DEFAULT_CLOSE_TIMEOUT));
    assertThatThrownBy(() -> defaults.withPollInterval(Duration.ZERO))
        .hasMessage("pollInterval must be positive, found PT0S");
    assertThatThrownBy(() -> defaults.withMaxLinesPerWrite(0))
        .hasMessage("maxLinesPerWrite must be at least 1, found 0");
    assertThatThrownBy(() -> defaults.withCloseTimeout(Duration.ofSeconds(-1)))
        .hasMessage("closeTimeout must be zero or more, found PT-1S");
    assertThatThrownBy(() -> StdoutSinkOptions.Start.afterSeq(-1)).hasMessage("seq must not be negative, found -1");
  }
}

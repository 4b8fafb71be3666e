package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.audit.AuditOptions;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HttpSink} against a real HTTP collector on a loopback socket, reading a real audit log. */
class HttpSinkIT {
  /** A bound for a loaded machine (a TLS handshake there took seconds); awaits return as soon as it holds. */
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private Collector collector;

  @BeforeEach
  void startCollector() throws Exception {
    collector = Collector.start();
  }

  @AfterEach
  void stopCollector() {
    collector.close();
  }

  private HttpSinkOptions fast() {
    return HttpSinkOptions.to(collector.uri(), dir)
        .withBatchSize(10)
        .withMaxBatchDelay(Duration.ofMillis(20))
        .withPollInterval(Duration.ofMillis(10))
        .withConnectTimeout(Duration.ofSeconds(2))
        .withRequestTimeout(Duration.ofSeconds(5))
        // Tests close a sink right after the collector got the last batch and then read the cursor:
        // the close must outlast a loaded machine's slow answer (it returns as soon as all is shipped).
        .withCloseTimeout(Duration.ofSeconds(20))
        .withBackoff(new Backoff(Duration.ofMillis(5), Duration.ofMillis(50), 2.0, 0.5));
  }

  private void awaitReceived(int count) {
    Await.until(WAIT, () -> collector.ids().size() >= count,
        () -> count + " events at the collector, found " + collector.ids().size());
  }

  private static List<Long> range(long first, long last) {
    return LongStream.rangeClosed(first, last).boxed().toList();
  }

  private long cursorSeq() throws Exception {
    return new CursorFile(dir.resolve(HttpSinkOptions.DEFAULT_CURSOR_FILE_NAME)).read().orElseThrow();
  }

  @Test
  void everyEventArrivesOnceAndInOrderAcrossFailuresAndAClosedPort() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM)) {
      sink.start();
      log.append(15);
      awaitReceived(15);

      collector.answer(Collector.Mode.FAIL);
      long failuresBefore = sink.failures();
      log.append(15);
      Await.until(WAIT, () -> sink.failures() >= failuresBefore + 3, () -> "retries against 500s");
      Await.until(WAIT, () -> sink.lag() == 15, () -> "a lag of 15 during the outage, found " + sink.lag());

      collector.goAway();
      long failuresWhileAway = sink.failures();
      log.append(15);
      Await.until(WAIT, () -> sink.failures() >= failuresWhileAway + 3, () -> "retries against a closed port");
      Await.until(WAIT, () -> sink.lag() == 30, () -> "a lag of 30, found " + sink.lag());

      collector.comeBack();
      collector.answer(Collector.Mode.THROTTLE);
      long failuresWhileThrottled = sink.failures();
      Await.until(WAIT, () -> sink.failures() >= failuresWhileThrottled + 2, () -> "retries against 429s");
      assertThat(collector.ids()).as("nothing accepted during the outage").hasSize(15);

      collector.answer(Collector.Mode.ACCEPT);
      log.append(15);
      log.finish(); // and its closing checkpoint
      long last = log.lastSeq();
      awaitReceived((int) last);
      Await.until(WAIT, () -> sink.lag() == 0, () -> "no lag once recovered, found " + sink.lag());

      assertThat(collector.ids()).as("every id, once, in the order written").isEqualTo(log.diskIds())
          .containsAll(log.ids());
      assertThat(collector.seqs()).isEqualTo(range(1, last));
      assertThat(sink.eventsSent()).isEqualTo(last);
      assertThat(sink.batchesSent()).isEqualTo(collector.batches().size());
      assertThat(sink.rejections()).isZero();
      // Every 500 and 429 the collector answered, plus the refused connections it never saw.
      assertThat(sink.failures()).isGreaterThan(collector.refusedRequests());
      assertThat(sink.acknowledgedSeq()).isEqualTo(last);
      assertThat(cursorSeq()).isEqualTo(last);
    }
  }

  @Test
  void theBodyIsAJsonArrayOfTheLinesAsWrittenWithTheConfiguredHeaders() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      log.append(10);
      try (HttpSink sink = HttpSink.create(fast().withBatchSize(4).withHeader("Authorization", "Bearer t0ken"),
          Clock.SYSTEM)) {
        sink.start();
        awaitReceived(10);
      }
      List<String> lines = log.lines().stream().map(line -> line.substring(0, line.length() - 1)).toList();
      List<Collector.Batch> batches = collector.batches();
      assertThat(batches).extracting(batch -> batch.ids().size()).containsExactly(4, 4, 2);
      int from = 0;
      for (Collector.Batch batch : batches) {
        int to = from + batch.ids().size();
        String expected = "[" + String.join(",", lines.subList(from, to)) + "]";
        assertThat(new String(batch.body(), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(batch.headers().get("Content-Type")).containsExactly("application/json");
        assertThat(batch.headers().get("Authorization")).containsExactly("Bearer t0ken");
        from = to;
      }
    }
  }

  @Test
  void aRestartContinuesAfterTheCursorAndSendsNothingAcknowledgedAgain() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      try (HttpSink first = HttpSink.create(fast(), Clock.SYSTEM)) {
        first.start();
        log.append(25);
        awaitReceived(25);
      }
      assertThat(cursorSeq()).isEqualTo(25);
      int batchesOfFirst = collector.batches().size();

      log.append(10); // while no sink runs
      try (HttpSink second = HttpSink.create(fast(), Clock.SYSTEM)) {
        second.start();
        assertThat(second.acknowledgedSeq()).isEqualTo(25);
        awaitReceived(35);
        Await.until(WAIT, () -> second.lag() == 0, () -> "no lag");
        assertThat(second.eventsSent()).isEqualTo(10);
      }
      assertThat(collector.batches().get(batchesOfFirst).seqs().get(0)).isEqualTo(26);
      assertThat(collector.ids()).isEqualTo(log.ids());
      assertThat(cursorSeq()).isEqualTo(35);
    }
  }

  @Test
  void stoppedDuringAnOutageCloseIsBoundedAndTheNextSinkShipsTheRestOnce() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      // A 30 s request timeout: a close that waited for a request instead of its 300 ms bound
      // would take that long, far over the 10 s a loaded machine may need for the bounded close.
      HttpSink first = HttpSink.create(fast().withCloseTimeout(Duration.ofMillis(300))
          .withRequestTimeout(Duration.ofSeconds(30)), Clock.SYSTEM);
      first.start();
      log.append(12);
      awaitReceived(12);
      collector.answer(Collector.Mode.FAIL);
      log.append(13);
      Await.until(WAIT, () -> first.failures() >= 2, () -> "retries against 500s");

      long started = System.nanoTime();
      first.close();
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      assertThat(took).as("close keeps trying only for its bound").isLessThan(Duration.ofSeconds(10));
      assertThat(first.acknowledgedSeq()).isEqualTo(12);
      assertThat(cursorSeq()).isEqualTo(12);

      collector.answer(Collector.Mode.ACCEPT);
      try (HttpSink second = HttpSink.create(fast(), Clock.SYSTEM)) {
        second.start();
        awaitReceived(25);
        Await.until(WAIT, () -> second.lag() == 0, () -> "no lag");
      }
      assertThat(collector.ids()).isEqualTo(log.ids());
      assertThat(collector.seqs()).isEqualTo(range(1, 25));
    }
  }

  @Test
  void closeShipsWhatIsOnDiskWithoutWaitingForTheBatchDelay() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      HttpSink sink = HttpSink.create(fast().withMaxBatchDelay(Duration.ofHours(1)), Clock.SYSTEM);
      sink.start();
      log.append(3);
      sink.close();
      assertThat(collector.ids()).isEqualTo(log.ids());
      assertThat(cursorSeq()).isEqualTo(3);
      assertThatThrownBy(sink::start).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void followsTheLogAcrossRotatedSegments() throws Exception {
    try (TestLog log = TestLog.open(AuditOptions.in(dir).withMaxSegmentBytes(2048));
        HttpSink sink = HttpSink.create(fast().withBatchSize(7), Clock.SYSTEM)) {
      sink.start();
      for (int round = 0; round < 10; round++) {
        log.append(6);
      }
      log.finish();
      awaitReceived((int) log.lastSeq());
      assertThat(log.segmentCount()).isGreaterThan(3);
      assertThat(collector.ids()).isEqualTo(log.diskIds()).containsAll(log.ids());
      assertThat(collector.batches()).allSatisfy(batch -> assertThat(batch.ids()).hasSizeLessThanOrEqualTo(7));
    }
  }

  @Test
  void aPartialTrailingLineIsNotShippedUntilItsNewlineIsWritten() throws Exception {
    TestLog.HalfWritten cut = TestLog.writeThreeEventsAndCutTheLastLineInHalf(dir);
    List<String> lines = cut.lines();
    int n = lines.size();
    Path segment = cut.segment();
    byte[] last = cut.lastLine();
    try (HttpSink sink = HttpSink.create(fast().withMaxBatchDelay(Duration.ZERO), Clock.SYSTEM)) {
      sink.start();
      awaitReceived(n - 1);
      Files.write(segment, Arrays.copyOfRange(last, last.length / 2, last.length - 1), StandardOpenOption.APPEND);
      // Twenty poll intervals with everything but the newline on disk.
      Holds.throughout(Duration.ofMillis(200), () -> collector.ids().size() == n - 1,
          () -> "only the complete lines shipped, found " + collector.seqs());
      assertThat(sink.lag()).isZero();

      Files.write(segment, new byte[] {'\n'}, StandardOpenOption.APPEND);
      awaitReceived(n);
      assertThat(collector.seqs()).isEqualTo(range(1, n));
      String lastBody = new String(collector.batches().get(collector.batches().size() - 1).body(), StandardCharsets.UTF_8);
      assertThat(lastBody).isEqualTo("[" + lines.get(n - 1).strip() + "]");
    }
  }

  @Test
  void refusalsAreCountedApartFromFailuresAndRetriedUntilAccepted() throws Exception {
    collector.answer(Collector.Mode.REFUSE);
    try (TestLog log = TestLog.open(AuditOptions.in(dir));
        HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM)) {
      sink.start();
      log.append(5);
      // The sink may see the events in more than one read of the segment (the writer flushes
      // them in batches), so the lag reaches 5 only once it has seen all of them.
      Await.until(WAIT, () -> sink.rejections() >= 3 && sink.lag() == 5,
          () -> "retries against 400s with all 5 events pending, lag " + sink.lag());
      assertThat(sink.failures()).isZero();
      assertThat(collector.ids()).isEmpty();

      collector.answer(Collector.Mode.ACCEPT);
      awaitReceived(5);
      assertThat(collector.ids()).isEqualTo(log.ids());
    }
  }

  @Test
  void aBatchThatIsNotFullWaitsForMaxBatchDelayOnTheSinksClock() throws Exception {
    ManualClock sinkClock = new ManualClock();
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      log.append(12);
      try (HttpSink sink = HttpSink.create(fast().withBatchSize(5).withMaxBatchDelay(Duration.ofMinutes(5)),
          sinkClock)) {
        sink.start();
        awaitReceived(10);
        Holds.throughout(Duration.ofMillis(150), () -> collector.ids().size() == 10,
            () -> "the last two events wait for the batch delay, found " + collector.seqs());

        sinkClock.advance(Duration.ofMinutes(5));
        awaitReceived(12);
        assertThat(collector.batches()).extracting(batch -> batch.ids().size()).containsExactly(5, 5, 2);
        assertThat(collector.ids()).isEqualTo(log.ids());
      }
    }
  }

  @Test
  void aCursorBehindTheCollectorMeansThoseEventsAreSentAgainAndTheCollectorDedupesById() throws Exception {
    // What a crash between the collector's 2xx and the cursor write looks like: the cursor lags.
    try (TestLog log = TestLog.open(AuditOptions.in(dir))) {
      log.append(8);
      try (HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM)) {
        sink.start();
        awaitReceived(8);
      }
      new CursorFile(dir.resolve(HttpSinkOptions.DEFAULT_CURSOR_FILE_NAME)).write(5, log.ids().get(4));
      try (HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM)) {
        sink.start();
        awaitReceived(11);
      }
      assertThat(collector.seqs()).isEqualTo(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 6L, 7L, 8L));
      assertThat(collector.ids().stream().distinct().toList()).isEqualTo(log.ids());
    }
  }

  @Test
  void anUnreadableCursorFileStopsTheStart() throws Exception {
    Files.writeString(dir.resolve(HttpSinkOptions.DEFAULT_CURSOR_FILE_NAME), "garbage");
    try (HttpSink sink = HttpSink.create(fast(), Clock.SYSTEM)) {
      assertThatThrownBy(sink::start).hasMessageContaining("does not hold a position");
    }
  }
}

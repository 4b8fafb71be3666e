package dev.meshguard.bench;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.Durability;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Statistics;

/**
 * {@code bench/run audit-write}: how fast the audit log gets events to disk, against how fast the
 * same disk takes the same bytes, and what an append costs the producer.
 *
 * <p>Method. A run is a warm-up round and then measured rounds; each round is four steps run
 * back to back on one filesystem (the work directory's):
 * <ol>
 *   <li>audit, BUFFERED: {@code producers} threads append {@code events} events at full speed;
 *       timed until {@code close()} returns, so until all of them are written and fsynced
 *       ({@link AuditRun});
 *   <li>its baseline: the lines that step wrote (events and the log's signed checkpoints), read
 *       back and written to a new file with one write and one fsync per batch, in exactly as many
 *       batches as the audit writer made group commits ({@link RawWriteBaseline}); so both make the
 *       same number of fsyncs over the same bytes, the batch size being the writer's average;
 *   <li>audit, DURABLE: {@code durableProducers} threads each append and wait for the fsync;
 *       group commit is what lets them share fsyncs;
 *   <li>its baseline, as in step 2.
 * </ol>
 * A ratio is audit events/s over baseline events/s of the same round; the figure reported is the
 * median over rounds, with its range. Pairing each audit step with a baseline taken right after it
 * cancels most of the drift of a noisy, shared machine, which is why this is a plain harness and not
 * a JMH single-shot benchmark (JMH would run all audit iterations, then all baseline ones).
 *
 * <p>What the baseline is spared, so the ratio errs against the log: the log rotates segments (at
 * 64 MiB by default) and its {@code close()} ends with a {@code force(true)} of the segment; the
 * baseline writes one file and stops the clock after its last {@code force(false)}. Producers
 * cycle through a pool of prepared events, so the figures are the log's, not the cost of building
 * events.
 *
 * <p>Last, the cost of a BUFFERED append on the producer's thread: JMH samples
 * {@link AuditAppendBenchmark} (median and p99 in ns) with a queue that never fills.
 */
final class AuditWriteSuite implements Suite {
  private static final int EVENT_POOL = 4096;

  /**
   * How much to run.
   *
   * @param events events per BUFFERED round
   * @param producers producer threads in BUFFERED rounds
   * @param durableEvents events per DURABLE round
   * @param durableProducers producer threads in DURABLE rounds (each waits for its fsync)
   * @param warmupRounds rounds run first and not reported (JIT, page cache, file system)
   * @param rounds rounds reported
   * @param latency the JMH settings of the append-latency benchmark
   */
  record Settings(int events, int producers, int durableEvents, int durableProducers, int warmupRounds, int rounds,
      LatencySettings latency) {
    Settings {
      Objects.requireNonNull(latency, "latency");
      if (producers < 1 || durableProducers < 1 || events < producers || durableEvents < durableProducers) {
        throw new IllegalArgumentException("every round needs at least one producer and one event per producer");
      }
      if (warmupRounds < 0 || rounds < 1) {
        throw new IllegalArgumentException("need warmupRounds >= 0 and rounds >= 1");
      }
    }
  }

  /**
   * JMH settings of {@link AuditAppendBenchmark}.
   *
   * @param forks 0 runs in this JVM (quick); 1 or more in fresh JVMs, as JMH recommends
   * @param highWater the most events left waiting for the writer; see the benchmark
   */
  record LatencySettings(int forks, int warmupIterations, int iterations, Duration iterationTime, int highWater) {}

  /** A few minutes on two cores. */
  static final Settings FULL = new Settings(200_000, 2, 4_000, 8, 1, 5,
      new LatencySettings(1, 5, 10, Duration.ofSeconds(1), 8192));
  /** Seconds, for CI smoke; the figures are rough. */
  static final Settings QUICK = new Settings(5_000, 2, 160, 8, 1, 1,
      new LatencySettings(0, 1, 2, Duration.ofMillis(200), 8192));

  private final Clock clock;
  private final Settings full;
  private final Settings quick;

  /** The suite bench/run runs: {@link #FULL}, or {@link #QUICK} with {@code --quick}. */
  AuditWriteSuite(Clock clock) {
    this(clock, FULL, QUICK);
  }

  AuditWriteSuite(Clock clock, Settings full, Settings quick) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "audit-write";
  }

  @Override
  public String description() {
    return "audit log events/s (buffered, durable) vs raw write+fsync of the same bytes; append latency";
  }

  @Override
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception {
    return run(quick ? this.quick : full, workDir, progress);
  }

  private Figures run(Settings settings, Path workDir, PrintStream progress)
      throws IOException, InterruptedException, RunnerException {
    Path runDir = Dirs.create(workDir, "audit-write-");
    String fsType = Files.getFileStore(runDir).type();
    progress.printf("audit-write: writing in %s (%s)%n", runDir, fsType);
    if (fsType.equals("tmpfs") || fsType.equals("ramfs")) {
      progress.println("audit-write: warning: fsync does nothing on " + fsType + "; pass --dir on a real disk");
    }
    try {
      List<AuditEvent> pool = SampleEvents.authzDecisions(EVENT_POOL, clock);
      List<Round> rounds = new ArrayList<>();
      for (int r = 1; r <= settings.warmupRounds() + settings.rounds(); r++) {
        Round round = round(settings, pool, Dirs.create(runDir, "round-"));
        boolean warmup = r <= settings.warmupRounds();
        progress.printf("audit-write: %s %d: buffered %s; durable %s%n", warmup ? "warm-up round" : "round",
            warmup ? r : r - settings.warmupRounds(), round.buffered(), round.durable());
        if (!warmup) {
          rounds.add(round);
        }
      }
      AppendLatency latency = measureAppendLatency(settings.latency(), runDir, progress);
      return figures(settings, rounds, latency, workDir, fsType);
    } finally {
      Dirs.delete(runDir);
    }
  }

  /** One round: the four steps of the class comment, in a directory deleted afterwards. */
  private Round round(Settings settings, List<AuditEvent> pool, Path dir) throws IOException, InterruptedException {
    try {
      Step buffered = step(dir.resolve("buffered"), Durability.BUFFERED, settings.producers(), settings.events(), pool);
      Step durable = step(dir.resolve("durable"), Durability.DURABLE, settings.durableProducers(),
          settings.durableEvents(), pool);
      return new Round(buffered, durable);
    } finally {
      Dirs.delete(dir);
    }
  }

  /** An audit run in {@code logDir}, then its baseline in a file beside it. */
  private Step step(Path logDir, Durability durability, int producers, int events, List<AuditEvent> pool)
      throws IOException, InterruptedException {
    AuditRun.Result audit = AuditRun.run(logDir, durability, producers, events, pool, clock);
    byte[] written = RawWriteBaseline.readLog(logDir);
    Path baselineFile = logDir.resolveSibling(logDir.getFileName() + "-baseline.jsonl");
    RawWriteBaseline.Result baseline = RawWriteBaseline.run(written, audit.commits(), baselineFile, clock);
    if (baseline.lines() != audit.lines()) {
      throw new IllegalStateException("the audit log's files hold " + baseline.lines() + " lines where it reported "
          + audit.lines() + " written");
    }
    return new Step(audit, baseline);
  }

  /**
   * An audit run and its baseline over the same lines. Both rates count the producers' events;
   * the log's checkpoint lines ride along in both.
   */
  private record Step(AuditRun.Result audit, RawWriteBaseline.Result baseline) {
    double eventsPerSecond() {
      return audit.eventsPerSecond();
    }

    double bytesPerSecond() {
      return baseline.bytes() * 1e9 / audit.nanos();
    }

    double baselineEventsPerSecond() {
      return audit.events() * 1e9 / baseline.nanos();
    }

    double ratio() {
      return (double) baseline.nanos() / audit.nanos();
    }

    @Override
    public String toString() {
      return String.format("%.0f events/s, baseline %.0f (ratio %.3f, %.1f lines per fsync)", eventsPerSecond(),
          baselineEventsPerSecond(), ratio(), audit.avgBatch());
    }
  }

  private record Round(Step buffered, Step durable) {}

  private record AppendLatency(double medianNanos, double p99Nanos, long samples) {}

  private static AppendLatency measureAppendLatency(LatencySettings settings, Path dir, PrintStream progress)
      throws RunnerException {
    TimeValue iterationTime = TimeValue.milliseconds(settings.iterationTime().toMillis());
    Options options = new OptionsBuilder()
        .include("^" + Pattern.quote(AuditAppendBenchmark.class.getName() + ".append") + "$")
        .forks(settings.forks())
        .warmupIterations(settings.warmupIterations())
        .warmupTime(iterationTime)
        .measurementIterations(settings.iterations())
        .measurementTime(iterationTime)
        .param("directory", dir.toString())
        .param("highWater", Integer.toString(settings.highWater()))
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results =
        new Runner(options, OutputFormatFactory.createFormatInstance(progress, VerboseMode.NORMAL)).run();
    if (results.size() != 1) {
      throw new IllegalStateException("JMH ran " + results.size() + " benchmarks for the append latency, not one");
    }
    Statistics statistics = results.iterator().next().getPrimaryResult().getStatistics();
    return new AppendLatency(statistics.getPercentile(50), statistics.getPercentile(99), statistics.getN());
  }

  private static Figures figures(Settings settings, List<Round> rounds, AppendLatency latency, Path workDir,
      String fsType) {
    Spread ratio = Spread.of(rounds, r -> r.buffered().ratio());
    Spread durableRatio = Spread.of(rounds, r -> r.durable().ratio());
    return new Figures()
        .put("events", settings.events())
        .put("producers", settings.producers())
        .put("rounds", rounds.size())
        .put("events_per_sec", Spread.of(rounds, r -> r.buffered().eventsPerSecond()).median())
        .put("bytes_per_sec", Spread.of(rounds, r -> r.buffered().bytesPerSecond()).median())
        .put("avg_batch", Spread.of(rounds, r -> r.buffered().audit().avgBatch()).median())
        .put("baseline_events_per_sec", Spread.of(rounds, r -> r.buffered().baselineEventsPerSecond()).median())
        .put("baseline_bytes_per_sec", Spread.of(rounds, r -> r.buffered().baseline().bytesPerSecond()).median())
        .put("ratio", ratio.median())
        .put("ratio_min", ratio.min())
        .put("ratio_max", ratio.max())
        .put("durable_events", settings.durableEvents())
        .put("durable_producers", settings.durableProducers())
        .put("durable_events_per_sec", Spread.of(rounds, r -> r.durable().eventsPerSecond()).median())
        .put("durable_avg_batch", Spread.of(rounds, r -> r.durable().audit().avgBatch()).median())
        .put("durable_baseline_events_per_sec", Spread.of(rounds, r -> r.durable().baselineEventsPerSecond()).median())
        .put("durable_ratio", durableRatio.median())
        .put("durable_ratio_min", durableRatio.min())
        .put("durable_ratio_max", durableRatio.max())
        .put("append_median_ns", latency.medianNanos())
        .put("append_p99_ns", latency.p99Nanos())
        .put("append_samples", latency.samples())
        .put("line_bytes", Spread.of(rounds,
            r -> (double) r.buffered().baseline().bytes() / r.buffered().baseline().lines()).median())
        .put("fs_type", fsType)
        .put("work_dir", workDir.toAbsolutePath().toString())
        .put("java_version", Runtime.version().toString())
        .put("cpus", Runtime.getRuntime().availableProcessors());
  }

  /** One figure over the measured rounds. */
  private record Spread(double median, double min, double max) {
    static Spread of(List<Round> rounds, ToDoubleFunction<Round> figure) {
      double[] values = rounds.stream().mapToDouble(figure).sorted().toArray();
      int mid = values.length / 2;
      double median = values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
      return new Spread(median, values[0], values[values.length - 1]);
    }
  }
}

package dev.meshguard.bench;

import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.RedisOptions;
import dev.meshguard.ratelimit.RedisStore;
import dev.meshguard.ratelimit.StoreUri;
import dev.meshguard.testkit.redis.RedisServerProcess;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench/run rls-load}: {@code ShouldRateLimit} over real gRPC against meshguard's rate limit
 * server on the memory store and on Redis (a real {@code redis-server}, testkit's), with 1 and 3
 * descriptors per request, each as a ratio to a null RLS server (same {@link GrpcServer}, answers
 * OK at once) measured in the same run by the same client at the same concurrency:
 *
 * <ol>
 *   <li>maximum throughput: a closed loop of {@link Settings#outstanding()} asynchronous calls;
 *   <li>latency p50/p99: an open loop at one fixed rate for every server (the configured rate, or
 *       half the slowest server's throughput if that is lower, so no server is overloaded), from
 *       each call's intended send time (HdrHistogram);
 *   <li>Redis commands per request ({@code INFO commandstats} and {@code total_commands_processed}
 *       before and after the closed loop, script internals included) and Redis round trips per
 *       request (commands sent by a client, counted by {@code MONITOR} over a sequential sample);
 *       goal: one round trip per request whatever the number of descriptors;
 *   <li>the same token bucket ({@value DirectRedisRun#LIMIT}/s) decided directly, no gRPC, by
 *       meshguard's {@link RedisStore} and by Bucket4j's Lettuce proxy manager on the same Redis
 *       ({@link DirectRedisRun}), with their commands and round trips per decision.
 * </ol>
 *
 * Keys vary ({@link Settings#keys()} values per descriptor key) and limits are far above the
 * offered load, so requests are decided by the store, not the local over-limit cache.
 */
final class RlsLoadSuite implements Suite {
  static final List<String> TARGETS = List.of("null", "memory", "redis");
  static final List<Integer> DESCRIPTORS = List.of(1, 3);
  /** The rate limit in the bench config: far above what a run offers per key. */
  static final long CONFIG_LIMIT = 1_000_000;
  /** A busy shared machine can stall Redis for longer than the 50 ms default; a timeout would answer by failure mode. */
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(2);

  /**
   * How much to run.
   *
   * @param warmup before each closed loop and each direct run
   * @param measure each closed loop and each direct run
   * @param outstanding calls in flight in the closed loops; threads in the direct runs
   * @param openLoopRate the open loops' rate, calls per second (lowered to half the slowest
   *     server's throughput)
   * @param openLoopWarmup the open loops' untimed start
   * @param openLoopMeasure each open loop's measured part
   * @param keys distinct values per descriptor key
   * @param monitorSample requests in each MONITOR sample
   * @param primeCalls sequential calls per client and descriptor count before anything is timed
   *     (they connect the channels and warm the code paths)
   */
  record Settings(Duration warmup, Duration measure, int outstanding, double openLoopRate, Duration openLoopWarmup,
      Duration openLoopMeasure, int keys, int monitorSample, int primeCalls) {
    Settings {
      Objects.requireNonNull(warmup, "warmup");
      Objects.requireNonNull(measure, "measure");
      Objects.requireNonNull(openLoopWarmup, "openLoopWarmup");
      Objects.requireNonNull(openLoopMeasure, "openLoopMeasure");
      if (outstanding < 1 || keys < 1 || monitorSample < 1 || primeCalls < 1 || !(openLoopRate > 0)) {
        throw new IllegalArgumentException("outstanding, keys, monitorSample, primeCalls and openLoopRate must be"
            + " positive");
      }
    }
  }

  /** About 4.5 minutes: 6 untimed loops of 5 s, 6 closed loops of 15 s, 6 open of 12 s, 2 direct runs of 15 s. */
  static final Settings FULL = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(10), 64, 2000,
      Duration.ofSeconds(2), Duration.ofSeconds(10), 1000, 500, 500);
  /** About a minute and a half. */
  static final Settings QUICK = new Settings(Duration.ofSeconds(2), Duration.ofSeconds(3), 64, 1000,
      Duration.ofSeconds(1), Duration.ofSeconds(3), 1000, 200, 200);

  private final Settings full;
  private final Settings quick;

  RlsLoadSuite() {
    this(FULL, QUICK);
  }

  RlsLoadSuite(Settings full, Settings quick) {
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "rls-load";
  }

  @Override
  public String description() {
    return "ShouldRateLimit over gRPC, memory and Redis stores, 1 and 3 descriptors, vs a null RLS; vs Bucket4j";
  }

  static String config() {
    StringBuilder yaml = new StringBuilder("domain: " + RlsLoad.DOMAIN + "\ndescriptors:\n");
    for (String key : RlsLoad.KEYS) {
      yaml.append("  - key: ").append(key).append("\n    rate_limit: {unit: second, requests_per_unit: ")
          .append(CONFIG_LIMIT).append("}\n");
    }
    return yaml.toString();
  }

  @Override
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception {
    Settings settings = quick ? this.quick : full;
    Path configDir = Dirs.create(workDir, "rls-load-");
    Files.writeString(configDir.resolve("bench.yaml"), config(), StandardCharsets.UTF_8);
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    MeterRegistry memoryMeters = new SimpleMeterRegistry();
    MeterRegistry redisMeters = new SimpleMeterRegistry();
    // No quota refresh during a run: the Redis quota store re-reads its revision every refresh
    // interval (2 s by default), a command of its own that the MONITOR sample below would count as
    // a round trip of a request (1.05 per request was seen when a sample took long on a busy machine).
    RateLimitOptions base = RateLimitOptions.DEFAULTS.withConfigDir(configDir).withPort(0)
        .withQuota(new QuotaOptions(null, QuotaOptions.DEFAULT_TENANT_KEY, Duration.ofHours(1),
            QuotaOptions.DEFAULT_METRICS_TOP_TENANTS, null));
    try (RedisServerProcess redis = RedisServerProcess.start();
        RedisStats stats = new RedisStats(redis.redisUri())) {
      Closer closer = new Closer();
      try {
        progress.println("rls-load: " + redis + " (redis " + stats.version() + "), null, memory and redis servers");
        GrpcServer nullServer = GrpcServer.builder().port(0).addService(new NullRateLimitService()).start();
        closer.add(nullServer::close);
        nullServer.markServing();
        RateLimitServer memory = RateLimitServer.start(base, Clock.SYSTEM, scheduler, memoryMeters);
        closer.add(memory::close);
        RedisOptions redisOptions = RedisOptions.DEFAULTS.withCommandTimeout(COMMAND_TIMEOUT);
        RateLimitServer redisServer = RateLimitServer.start(base.withStore(redis.uri()).withRedis(redisOptions),
            Clock.SYSTEM, scheduler, redisMeters);
        closer.add(redisServer::close);
        Map<String, RlsLoad> clients = new LinkedHashMap<>();
        for (var entry : Map.of("null", nullServer.port(), "memory", memory.port(), "redis", redisServer.port())
            .entrySet()) {
          RlsLoad client = new RlsLoad(entry.getValue());
          closer.add(client::close);
          clients.put(entry.getKey(), client);
        }
        Figures figures = new Figures();
        Figures ratios = new Figures();
        Figures goals = new Figures();

        for (RlsLoad client : clients.values()) {
          for (int d : DESCRIPTORS) {
            client.prime(RlsLoad.requests(d, settings.keys(), 300 + d), settings.primeCalls());
          }
        }
        // Then an untimed closed loop for every server and descriptor count: without it the first
        // one timed (the null server's) also pays for the JIT compiling the shared gRPC path, and
        // its ratio comes out above 1 for everything after it.
        for (int d : DESCRIPTORS) {
          RateLimitRequest[] requests = RlsLoad.requests(d, settings.keys(), 400 + d);
          for (String target : TARGETS) {
            clients.get(target).closedLoop(requests, settings.outstanding(), Duration.ZERO, settings.warmup());
          }
        }

        // 1. Closed loops, targets interleaved per descriptor count; Redis counted around its runs.
        Map<String, RlsLoad.Throughput> throughput = new LinkedHashMap<>();
        Map<Integer, RedisStats.Delta> redisCommands = new LinkedHashMap<>();
        long errors = 0;
        for (int d : DESCRIPTORS) {
          RateLimitRequest[] requests = RlsLoad.requests(d, settings.keys(), d);
          for (String target : TARGETS) {
            RlsLoad client = clients.get(target);
            RedisStats.Snapshot before = target.equals("redis") ? stats.snapshot() : null;
            long callsBefore = client.completed();
            RlsLoad.Throughput t = client.closedLoop(requests, settings.outstanding(), settings.warmup(),
                settings.measure());
            if (before != null) {
              redisCommands.put(d, stats.snapshot().since(before, client.completed() - callsBefore));
            }
            throughput.put(target + "_" + d, t);
            errors += t.errors();
            progress.printf(Locale.ROOT, "rls-load: %-6s %d descriptor(s): %,.0f calls/s (%d outstanding, %d errors)%n",
                target, d, t.callsPerSecond(), settings.outstanding(), t.errors());
          }
        }

        // 2. Open loops at one rate for all: below every server's throughput.
        double slowest = throughput.values().stream().mapToDouble(RlsLoad.Throughput::callsPerSecond).min().orElseThrow();
        double rate = Math.max(1, Math.min(settings.openLoopRate(), slowest / 2));
        Map<String, RlsLoad.Latency> latency = new LinkedHashMap<>();
        for (int d : DESCRIPTORS) {
          RateLimitRequest[] requests = RlsLoad.requests(d, settings.keys(), 100 + d);
          for (String target : TARGETS) {
            RlsLoad.Latency l = clients.get(target).openLoop(requests, rate, settings.openLoopWarmup(),
                settings.openLoopMeasure());
            latency.put(target + "_" + d, l);
            errors += l.errors();
            progress.printf(Locale.ROOT, "rls-load: %-6s %d descriptor(s) at %,.0f/s: p50 %,.0f us, p99 %,.0f us%n",
                target, d, l.ratePerSecond(), l.p50Micros(), l.p99Micros());
          }
        }

        // 3. Round trips: MONITOR over a sequential sample through the Redis-backed server.
        Map<Integer, double[]> redisMonitor = new LinkedHashMap<>();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", redisServer.port()).usePlaintext().build();
        closer.add(channel::shutdownNow);
        try (RedisStats.Monitor monitor = new RedisStats.Monitor(redis.host(), redis.port())) {
          var blocking = RateLimitServiceGrpc.newBlockingStub(channel);
          for (int d : DESCRIPTORS) {
            RateLimitRequest[] requests = RlsLoad.requests(d, settings.keys(), 200 + d);
            monitor.take();
            for (int i = 0; i < settings.monitorSample(); i++) {
              blocking.shouldRateLimit(requests[i % requests.length]);
            }
            RedisStats.Monitor.Counts counts = monitor.take();
            redisMonitor.put(d, perRequest(counts, settings.monitorSample()));
          }
        }

        // 4. meshguard's RedisStore vs Bucket4j, directly, same token bucket, keys and threads.
        Direct meshguard;
        Direct bucket4j;
        try (RedisStore store = RedisStore.connect(StoreUri.parse(redis.uri()), redisOptions);
            DirectRedisRun.Bucket4j b4j = new DirectRedisRun.Bucket4j(redis.redisUri(), settings.keys())) {
          meshguard = direct("meshguard", DirectRedisRun.meshguard(store, settings.keys(), Clock.SYSTEM), settings,
              stats, redis, progress);
          bucket4j = direct("bucket4j", b4j.decider(), settings, stats, redis, progress);
        }

        for (int d : DESCRIPTORS) {
          for (String target : TARGETS) {
            figures.put(target + "_" + d + "_calls_per_sec", throughput.get(target + "_" + d).callsPerSecond());
          }
        }
        figures.put("open_loop_rate", rate);
        for (int d : DESCRIPTORS) {
          for (String target : TARGETS) {
            RlsLoad.Latency l = latency.get(target + "_" + d);
            figures.put(target + "_" + d + "_p50_us", l.p50Micros()).put(target + "_" + d + "_p99_us", l.p99Micros());
          }
        }
        for (int d : DESCRIPTORS) {
          RedisStats.Delta delta = redisCommands.get(d);
          figures.put("redis_" + d + "_commands_per_request", delta.allPerRequest())
              .put("redis_" + d + "_script_calls_per_request", delta.of("evalsha", "eval"))
              .put("redis_" + d + "_round_trips_per_request", redisMonitor.get(d)[0])
              .put("redis_" + d + "_commands", commands(delta));
        }
        figures.put("direct_meshguard_decisions_per_sec", meshguard.result().decisionsPerSecond())
            .put("direct_bucket4j_decisions_per_sec", bucket4j.result().decisionsPerSecond())
            .put("direct_meshguard_commands_per_decision", meshguard.commands().allPerRequest())
            .put("direct_bucket4j_commands_per_decision", bucket4j.commands().allPerRequest())
            .put("direct_meshguard_round_trips_per_decision", meshguard.monitor()[0])
            .put("direct_bucket4j_round_trips_per_decision", bucket4j.monitor()[0])
            .put("direct_meshguard_commands", commands(meshguard.commands()))
            .put("direct_bucket4j_commands", commands(bucket4j.commands()))
            .put("direct_denied", meshguard.result().denied() + bucket4j.result().denied())
            .put("errors", errors + meshguard.result().errors() + bucket4j.result().errors())
            .put("redis_store_errors", storeErrors(redisMeters))
            .put("outstanding", settings.outstanding())
            .put("keys", settings.keys())
            .put("measure_s", settings.measure().toMillis() / 1000.0)
            .put("redis_version", stats.version())
            .put("java_version", Runtime.version().toString())
            .put("cpus", Runtime.getRuntime().availableProcessors());

        for (int d : DESCRIPTORS) {
          RlsLoad.Throughput none = throughput.get("null_" + d);
          RlsLoad.Latency noneLatency = latency.get("null_" + d);
          for (String target : List.of("memory", "redis")) {
            RlsLoad.Latency l = latency.get(target + "_" + d);
            ratios.put(target + "_" + d + "_throughput", throughput.get(target + "_" + d).callsPerSecond()
                    / none.callsPerSecond())
                .put(target + "_" + d + "_p50", l.p50Micros() / noneLatency.p50Micros())
                .put(target + "_" + d + "_p99", l.p99Micros() / noneLatency.p99Micros());
          }
          double roundTrips = redisMonitor.get(d)[0];
          goals.put("redis_" + d + "_round_trips_per_request", new Figures().put("value", roundTrips)
              .put("goal", "1").put("met", Math.abs(roundTrips - 1) < 0.005));
        }
        ratios.put("meshguard_vs_bucket4j", meshguard.result().decisionsPerSecond()
            / bucket4j.result().decisionsPerSecond());
        return new Figures().put("figures", figures).put("ratios", ratios).put("goals", goals);
      } finally {
        closer.closeAll();
      }
    } finally {
      scheduler.shutdownNow();
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
      Dirs.delete(configDir);
    }
  }

  /** One direct run: its rates, the Redis commands around it and a MONITOR sample after it. */
  private record Direct(DirectRedisRun.Result result, RedisStats.Delta commands, double[] monitor) {}

  private static Direct direct(String name, DirectRedisRun.Decider decider, Settings settings, RedisStats stats,
      RedisServerProcess redis, PrintStream progress) throws Exception {
    RedisStats.Snapshot before = stats.snapshot();
    DirectRedisRun.Result result = DirectRedisRun.run(decider, settings.keys(), settings.outstanding(),
        settings.warmup(), settings.measure());
    RedisStats.Delta commands = stats.snapshot().since(before, result.total());
    double[] monitor;
    try (RedisStats.Monitor m = new RedisStats.Monitor(redis.host(), redis.port())) {
      m.take();
      for (int i = 0; i < settings.monitorSample(); i++) {
        decider.decide(i % settings.keys());
      }
      monitor = perRequest(m.take(), settings.monitorSample());
    }
    progress.printf(Locale.ROOT, "rls-load: direct %-9s %,.0f decisions/s (%d threads), %.2f commands and %.2f round"
        + " trips per decision, %d denied, %d errors%n", name, result.decisionsPerSecond(), settings.outstanding(),
        commands.allPerRequest(), monitor[0], result.denied(), result.errors());
    return new Direct(result, commands, monitor);
  }

  private static double[] perRequest(RedisStats.Monitor.Counts counts, int requests) {
    return new double[] {(double) counts.client() / requests, (double) counts.script() / requests};
  }

  private static Figures commands(RedisStats.Delta delta) {
    Figures group = new Figures();
    delta.perRequest().forEach((command, perRequest) ->
        group.put(command.replaceAll("[^a-z0-9]+", "_"), perRequest));
    return group;
  }

  private static long storeErrors(MeterRegistry meters) {
    return Math.round(meters.find("meshguard.ratelimit.store.errors").counters().stream()
        .mapToDouble(Counter::count).sum());
  }

  /** Closes what was added, last first. */
  private static final class Closer {
    interface Action {
      void close() throws Exception;
    }

    private final java.util.ArrayDeque<Action> actions = new java.util.ArrayDeque<>();

    void add(Action action) {
      actions.push(action);
    }

    void closeAll() throws Exception {
      Exception first = null;
      while (!actions.isEmpty()) {
        try {
          actions.pop().close();
        } catch (Exception e) {
          if (first == null) {
            first = e;
          } else {
            first.addSuppressed(e);
          }
        }
      }
      if (first != null) {
        throw first;
      }
    }
  }
}

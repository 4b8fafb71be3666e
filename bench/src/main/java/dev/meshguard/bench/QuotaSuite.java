package dev.meshguard.bench;

import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.Code;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.ratelimit.FailureMode;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitDecision;
import dev.meshguard.ratelimit.RateLimitEngine;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.RedisOptions;
import dev.meshguard.testkit.redis.RedisServerProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench/run quota}: what a tenant-quota check adds to a plain descriptor limit, through the
 * rate limit engine and its store, on the memory store and on a real Redis (testkit's launcher).
 * Two request kinds hit the same descriptor limit ({@code tenant}, huge limit): {@code plain}
 * carries a tenant without a quota, {@code quota} one with a two-limit quota (a calendar month and
 * a one-second window, never reached). Rounds alternate the kinds on one thread after a shared
 * warm-up; the figure is the median over rounds of quota/plain mean latency (goal below
 * {@value #GOAL_RATIO}). On Redis the suite also counts, for each kind, the round trips per request
 * through a {@link TurnCountingProxy} (goal: no extra round trip for the quota) and the script
 * calls per request from {@code INFO commandstats} (one for each kind: on a single server the
 * descriptors and the quota are one script call). The quota's poll runs hourly here, so its reads
 * do not land in the counts. Both kinds run closed loop on one thread against the same server, so
 * they differ only in the quota check; {@link QuotaCheckBenchmark} is the same request under JMH,
 * for its profilers.
 */
final class QuotaSuite implements Suite {
  static final double GOAL_RATIO = 1.3;
  /** The descriptor limit both kinds hit: never reached. */
  static final String LIMITS = """
      domain: bench
      descriptors:
        - key: tenant
          rate_limit: {unit: second, requests_per_unit: 4000000000}
      """;
  /** The quota of tenant {@code acme}: a calendar month and a one-second window, never reached. */
  static final String ACME = """
      apiVersion: meshguard.dev/v1
      kind: TenantQuota
      metadata: {name: acme}
      spec:
        limits:
          - {name: monthly, period: month, amount: 4294967295}
          - {name: per-second, window: 1s, amount: 4294967295}
      """;
  /** Requests counted for round trips (each waits the proxy's reply delay). */
  static final int ROUND_TRIP_REQUESTS = 200;
  /** Extra round trips per request still counted as none (see {@link #figures}). */
  static final double EXTRA_ROUND_TRIP_TOLERANCE = 0.1;

  /**
   * How much to run.
   *
   * @param stores {@code memory} and/or {@code redis}
   * @param warmup requests of each kind before measuring
   * @param rounds rounds of each kind
   * @param perRound requests per round
   */
  record Settings(List<String> stores, int warmup, int rounds, int perRound) {
    Settings {
      stores = List.copyOf(stores);
      if (stores.isEmpty() || !List.of("memory", "redis").containsAll(stores)) {
        throw new IllegalArgumentException("stores are memory and/or redis, found " + stores);
      }
      if (rounds < 1 || perRound < 1 || warmup < 0) {
        throw new IllegalArgumentException("rounds and perRound must be positive, warmup not negative");
      }
    }
  }

  /**
   * 200,000 requests of warm-up and 50,000 per round: with 50,000 and 20,000 the memory store's
   * plain requests still fell from 4.3 to 0.7 us over the rounds (the JIT was not done), so the
   * median compared a cold baseline with a warmer quota path and the rounds ranged 1.0 to 2.3.
   */
  static final Settings FULL = new Settings(List.of("memory", "redis"), 200_000, 15, 50_000);
  static final Settings QUICK = new Settings(List.of("memory", "redis"), 5_000, 6, 3_000);

  private final Settings full;
  private final Settings quick;

  QuotaSuite() {
    this(FULL, QUICK);
  }

  QuotaSuite(Settings full, Settings quick) {
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "quota";
  }

  @Override
  public String description() {
    return "tenant-quota check vs a plain descriptor limit: latency ratio, Redis round trips (memory, Redis)";
  }

  /** One store's result. */
  record Result(String store, double plainMicros, double quotaMicros, double[] ratios, double plainRoundTrips,
      double quotaRoundTrips, double plainScriptCalls, double quotaScriptCalls, double plainServerMicros,
      double quotaServerMicros) {
    double medianRatio() {
      double[] sorted = ratios.clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
  }

  @Override
  public Figures run(boolean quickRun, Path workDir, PrintStream progress) throws Exception {
    Settings settings = quickRun ? quick : full;
    Path dir = Dirs.create(workDir, "quota-");
    try {
      Files.createDirectories(dir.resolve("limits"));
      Files.writeString(dir.resolve("limits/bench.yaml"), LIMITS);
      Files.createDirectories(dir.resolve("quotas"));
      Files.writeString(dir.resolve("quotas/acme.yaml"), ACME);
      List<Result> results = new ArrayList<>();
      for (String store : settings.stores()) {
        if (store.equals("memory")) {
          results.add(measure("memory", dir, null, settings, progress));
        } else {
          try (RedisServerProcess redis = RedisServerProcess.start()) {
            results.add(measure("redis", dir, redis, settings, progress));
          }
        }
      }
      return figures(settings, results);
    } finally {
      Dirs.delete(dir);
    }
  }

  private static Result measure(String storeName, Path dir, RedisServerProcess redis, Settings settings,
      PrintStream progress) throws Exception {
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.DENY,
        Duration.ofHours(1), 1_000_000).withQuota(new QuotaOptions(dir.resolve("quotas"),
        QuotaOptions.DEFAULT_TENANT_KEY, Duration.ofHours(1), QuotaOptions.DEFAULT_METRICS_TOP_TENANTS, null));
    if (redis != null) {
      // A long command timeout: the first calls (script load, cold JIT) may take longer than the
      // default 50 ms, and a timed-out request would count as refused; latency is what we measure.
      options = options.withStore(redis.uri()).withRedis(RedisOptions.DEFAULTS.withCommandTimeout(Duration.ofSeconds(5)));
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "bench-quota-poll");
      thread.setDaemon(true);
      return thread;
    });
    try (RateLimitServer server = RateLimitServer.start(options, Clock.SYSTEM, scheduler, new SimpleMeterRegistry())) {
      RateLimitEngine engine = server.engine();
      List<Descriptor> plain = List.of(Descriptor.of("tenant", "plain"));
      List<Descriptor> quota = List.of(Descriptor.of("tenant", "acme"));
      check(engine.decide("bench", quota, 1), "quota", true);
      check(engine.decide("bench", plain, 1), "plain", false);
      loop(engine, plain, settings.warmup());
      loop(engine, quota, settings.warmup());
      double[] ratios = new double[settings.rounds()];
      double plainTotal = 0;
      double quotaTotal = 0;
      for (int r = 0; r < settings.rounds(); r++) {
        // Alternate which kind goes first, so drift within a round does not favour one.
        double p;
        double q;
        if (r % 2 == 0) {
          p = loop(engine, plain, settings.perRound());
          q = loop(engine, quota, settings.perRound());
        } else {
          q = loop(engine, quota, settings.perRound());
          p = loop(engine, plain, settings.perRound());
        }
        ratios[r] = q / p;
        plainTotal += p;
        quotaTotal += q;
        progress.printf("quota: %s round %d: plain %.2f us, quota %.2f us, ratio %.3f%n", storeName, r + 1, p, q,
            ratios[r]);
      }
      double plainTrips = Double.NaN;
      double quotaTrips = Double.NaN;
      double plainScripts = Double.NaN;
      double quotaScripts = Double.NaN;
      double plainServer = Double.NaN;
      double quotaServer = Double.NaN;
      if (redis != null) {
        int n = ROUND_TRIP_REQUESTS;
        plainScripts = scriptCallsPer(redis.redisUri(), engine, plain, n);
        quotaScripts = scriptCallsPer(redis.redisUri(), engine, quota, n);
        plainServer = scriptMicrosPer(redis.redisUri(), engine, plain, settings.perRound());
        quotaServer = scriptMicrosPer(redis.redisUri(), engine, quota, settings.perRound());
        progress.printf("quota: Redis-side script time per request: plain %.2f us, quota %.2f us%n", plainServer,
            quotaServer);
        try (TurnCountingProxy proxy = new TurnCountingProxy(new InetSocketAddress(redis.host(), redis.port()));
            RateLimitServer proxied = RateLimitServer.start(options.withStore("redis://" + redis.host() + ":"
                + proxy.port()), Clock.SYSTEM, scheduler, new SimpleMeterRegistry())) {
          RateLimitEngine through = proxied.engine();
          loop(through, quota, 20); // connect, load the scripts
          loop(through, plain, 20);
          plainTrips = turnsPer(proxy, through, plain, n);
          quotaTrips = turnsPer(proxy, through, quota, n);
        }
        progress.printf("quota: redis round trips per request: plain %.3f, quota %.3f; script calls per request: "
            + "plain %.3f, quota %.3f%n", plainTrips, quotaTrips, plainScripts, quotaScripts);
      }
      return new Result(storeName, plainTotal / settings.rounds(), quotaTotal / settings.rounds(), ratios, plainTrips,
          quotaTrips, plainScripts, quotaScripts, plainServer, quotaServer);
    } finally {
      scheduler.shutdownNow();
    }
  }

  private static void check(RateLimitDecision decision, String kind, boolean withQuota) {
    if (decision.storeFailed() || decision.overallCode() != Code.OK) {
      throw new IllegalStateException(kind + " request was not admitted: " + decision);
    }
    if (withQuota != (decision.quota() != null)) {
      throw new IllegalStateException(kind + " request " + (withQuota ? "was not" : "was") + " checked against a quota");
    }
  }

  /** Mean microseconds per decide over {@code n} calls. */
  private static double loop(RateLimitEngine engine, List<Descriptor> descriptors, int n) {
    long start = System.nanoTime(); // a benchmark's own stopwatch, not logic time
    long refused = 0;
    for (int i = 0; i < n; i++) {
      RateLimitDecision decision = engine.decide("bench", descriptors, 1);
      if (decision.overallCode() != Code.OK) {
        refused++;
      }
    }
    long elapsed = System.nanoTime() - start;
    if (refused > 0) {
      throw new IllegalStateException(refused + " of " + n + " requests were refused: the limits are never reached");
    }
    return n == 0 ? 0 : elapsed / 1_000.0 / n;
  }

  private static final Pattern CALLS = Pattern.compile("^cmdstat_([a-z|]+):calls=(\\d+)", Pattern.MULTILINE);

  /**
   * Script calls ({@code EVALSHA}, {@code EVAL}) per request, from {@code INFO commandstats}: the
   * commands a client sent (the commands a script runs count in commandstats too, so only script
   * calls are counted). Not round trips: two scripts pipelined are two calls in one round trip,
   * which {@link TurnCountingProxy} counts.
   */
  private static double turnsPer(TurnCountingProxy proxy, RateLimitEngine engine, List<Descriptor> descriptors,
      int n) {
    long before = proxy.turns();
    loop(engine, descriptors, n);
    return (double) (proxy.turns() - before) / n;
  }

  private static double scriptCallsPer(RedisURI uri, RateLimitEngine engine, List<Descriptor> descriptors, int n) {
    return commandstatsPer(uri, engine, descriptors, n, QuotaSuite::scriptCalls);
  }

  private static final Pattern SCRIPT_USEC =
      Pattern.compile("^cmdstat_(evalsha|eval|evalsha_ro):calls=\\d+,usec=(\\d+)", Pattern.MULTILINE);

  /**
   * Microseconds Redis spent running the scripts, per request, from {@code INFO commandstats}
   * (a script's usec includes the commands it runs): which part of the quota's extra latency is
   * Redis's work rather than the client's or the network's. A diagnostic, not a goal.
   */
  private static double scriptMicrosPer(RedisURI uri, RateLimitEngine engine, List<Descriptor> descriptors, int n) {
    return commandstatsPer(uri, engine, descriptors, n, QuotaSuite::scriptMicros);
  }

  /** How much a figure read from {@code INFO commandstats} grows per request over {@code n} requests. */
  private static double commandstatsPer(RedisURI uri, RateLimitEngine engine, List<Descriptor> descriptors, int n,
      java.util.function.ToLongFunction<String> figure) {
    RedisClient client = RedisClient.create(uri);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      long before = figure.applyAsLong(connection.sync().info("commandstats"));
      loop(engine, descriptors, n);
      long after = figure.applyAsLong(connection.sync().info("commandstats"));
      return (double) (after - before) / n;
    } finally {
      client.shutdown();
    }
  }

  static long scriptMicros(String commandstats) {
    long usec = 0;
    Matcher m = SCRIPT_USEC.matcher(commandstats);
    while (m.find()) {
      usec += Long.parseLong(m.group(2));
    }
    return usec;
  }

  static long scriptCalls(String commandstats) {
    long calls = 0;
    Matcher m = CALLS.matcher(commandstats);
    while (m.find()) {
      if (m.group(1).equals("evalsha") || m.group(1).equals("eval") || m.group(1).equals("evalsha_ro")) {
        calls += Long.parseLong(m.group(2));
      }
    }
    return calls;
  }

  private static Figures figures(Settings settings, List<Result> results) {
    Figures figures = new Figures();
    Figures ratios = new Figures();
    Figures goals = new Figures();
    for (Result r : results) {
      double[] sorted = r.ratios().clone();
      Arrays.sort(sorted);
      figures.put(r.store() + "_plain_us", r.plainMicros()).put(r.store() + "_quota_us", r.quotaMicros());
      ratios.put(r.store() + "_quota_over_plain", r.medianRatio())
          .put(r.store() + "_quota_over_plain_min", sorted[0])
          .put(r.store() + "_quota_over_plain_max", sorted[sorted.length - 1]);
      goals.put(r.store() + "_quota_over_plain", new Figures().put("value", r.medianRatio())
          .put("goal", "< " + GOAL_RATIO).put("met", r.medianRatio() < GOAL_RATIO));
      if (!Double.isNaN(r.plainRoundTrips())) {
        figures.put(r.store() + "_plain_round_trips", r.plainRoundTrips())
            .put(r.store() + "_quota_round_trips", r.quotaRoundTrips())
            .put(r.store() + "_plain_script_calls", r.plainScriptCalls())
            .put(r.store() + "_quota_script_calls", r.quotaScriptCalls())
            .put(r.store() + "_plain_server_us", r.plainServerMicros())
            .put(r.store() + "_quota_server_us", r.quotaServerMicros());
        // A second sequential round trip would add 1.0 per request; a stray turn (a reply that
        // outran a pipelined command on a loaded machine, despite the proxy's delay) adds ~0.005.
        double extra = r.quotaRoundTrips() - r.plainRoundTrips();
        goals.put(r.store() + "_extra_round_trips", new Figures()
            .put("value", extra).put("goal", "< " + EXTRA_ROUND_TRIP_TOLERANCE)
            .put("met", extra < EXTRA_ROUND_TRIP_TOLERANCE));
      }
    }
    return new Figures()
        .put("figures", figures.put("rounds", settings.rounds()).put("per_round", settings.perRound())
            .put("warmup", settings.warmup()).put("java_version", Runtime.version().toString())
            .put("cpus", Runtime.getRuntime().availableProcessors()))
        .put("ratios", ratios)
        .put("goals", goals);
  }
}

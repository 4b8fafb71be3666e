package dev.meshguard.bench;

import com.google.protobuf.Value;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * {@code bench/run authz-load}: the ext_authz server under load, as Envoy drives it, against a
 * null Check server on the same gRPC stack in the same run (issue #5's load benchmark).
 *
 * <p>Targets ({@link AuthzLoadTargets}): meshguard's {@code AuthzServer} with 1,000
 * AuthorizationPolicies in scope of the workload (the allowed requests match only the last ALLOW
 * policy) and the audit log on; and a null server that answers OK at once. Both run in this JVM on
 * the same grpc-java/Netty server setup, driven by the same client ({@link LoadGenerator}: grpc-java
 * async stubs over a few channels) with the same requests (Envoy-shaped CheckRequests, 5% of them
 * denied).
 *
 * <p>Method. A warm-up alternates the targets under closed-loop load, so the JIT has compiled both
 * before anything is measured. Then each round measures, for both targets back to back: the
 * maximum throughput (closed loop, {@code closedLoopOutstanding} calls in flight), and the latency
 * at each fixed rate (open loop, latency from each request's intended send time, so coordinated
 * omission is avoided). Which target goes first alternates from round to round, so drift on a
 * shared machine falls on both (as in {@link CaIssueRun}). Latencies are merged over rounds per
 * target and rate; the throughput ratio is the median of the rounds' ratios.
 *
 * <p>Goals (issue #5): max throughput meshguard / null at least {@value #THROUGHPUT_GOAL}; at each
 * rate, p99 meshguard / null at most {@value #P99_GOAL}, and no tail collapse: meshguard answers
 * at least {@value #RATE_GOAL} of the target rate with no errors (a server that falls behind shows
 * as an achieved rate below the target, unsent requests, and latencies that grow with the run).
 */
final class AuthzLoadSuite implements Suite {
  static final double THROUGHPUT_GOAL = 0.8;
  static final double P99_GOAL = 2.0;
  static final double RATE_GOAL = 0.95;
  static final List<String> TARGETS = List.of(AuthzLoadTargets.NULL, AuthzLoadTargets.MESHGUARD);

  /**
   * How much to run.
   *
   * @param policies AuthorizationPolicies in scope of the workload (the suite: {@value AuthzLoadTargets#POLICIES})
   * @param rates the open-loop rates, requests per second
   * @param warmup the alternating closed-loop warm-up, both targets together
   * @param perRate each open-loop run
   * @param maxThroughput each closed-loop run
   * @param rounds rounds measured
   * @param channels client channels (HTTP/2 connections) per target
   * @param maxOutstanding the most open-loop calls in flight; a request due beyond is an error
   * @param closedLoopOutstanding calls in flight in closed loop
   */
  record Settings(int policies, List<Integer> rates, Duration warmup, Duration perRate, Duration maxThroughput, int rounds,
      int channels, int maxOutstanding, int closedLoopOutstanding) {
    Settings {
      rates = List.copyOf(rates);
      Objects.requireNonNull(warmup, "warmup");
      Objects.requireNonNull(perRate, "perRate");
      Objects.requireNonNull(maxThroughput, "maxThroughput");
      if (rates.isEmpty() || rates.stream().anyMatch(r -> r < 1)) {
        throw new IllegalArgumentException("rates must be positive, found " + rates);
      }
      if (policies < 2 || policies > 9998) {
        throw new IllegalArgumentException("policies must be between 2 and 9998, found " + policies);
      }
      if (rounds < 1 || channels < 1 || maxOutstanding < 1 || closedLoopOutstanding < 1) {
        throw new IllegalArgumentException("need rounds, channels and outstanding counts of at least 1");
      }
      if (perRate.isZero() || perRate.isNegative() || maxThroughput.isZero() || maxThroughput.isNegative()
          || warmup.isNegative()) {
        throw new IllegalArgumentException("need positive run durations");
      }
    }
  }

  private static final List<Integer> RATES = List.of(1_000, 3_000, 10_000);
  /** About four minutes: 10 s warm-up, then 2 rounds of 2 x 5 s max throughput and 2 x 3 x 15 s at rates. */
  static final Settings FULL = new Settings(AuthzLoadTargets.POLICIES, RATES, Duration.ofSeconds(10), Duration.ofSeconds(15),
      Duration.ofSeconds(5), 2, 4, 2048, 64);
  /** About half a minute: one round of 3 s per rate. */
  static final Settings QUICK = new Settings(AuthzLoadTargets.POLICIES, RATES, Duration.ofSeconds(3), Duration.ofSeconds(3),
      Duration.ofSeconds(2), 1, 4, 2048, 64);
  private static final int WARMUP_SLICES = 4;

  private final Settings full;
  private final Settings quick;

  AuthzLoadSuite() {
    this(FULL, QUICK);
  }

  AuthzLoadSuite(Settings full, Settings quick) {
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "authz-load";
  }

  @Override
  public String description() {
    return "ext_authz Check under open-loop load (1,000 policies, audit on) vs a null Check server: max rps, p50/p99/p99.9";
  }

  @Override
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception {
    Settings settings = quick ? this.quick : full;
    Path runDir = Dirs.create(workDir, "authz-load-");
    try {
      List<CheckRequest> requests = AuthzLoadTargets.requests();
      long started = System.nanoTime();
      try (AuthzLoadTargets targets = AuthzLoadTargets.start(runDir, settings.policies(), settings.channels())) {
        progress.printf(Locale.ROOT, "authz-load: meshguard serves %d policies (started in %d ms), audit in %s%n",
            targets.servedPolicies(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), runDir);
        checkAnswers(targets, requests);
        Map<String, LoadGenerator> load = new LinkedHashMap<>();
        for (String target : TARGETS) {
          load.put(target, new LoadGenerator(targets.channels(target), requests));
        }
        return measure(settings, load, targets, progress);
      }
    } finally {
      Dirs.delete(runDir);
    }
  }

  /** Every request once to each target: meshguard must decide as the policies say, or the load measures nothing. */
  private static void checkAnswers(AuthzLoadTargets targets, List<CheckRequest> requests) {
    for (int i = 0; i < requests.size(); i++) {
      CheckResponse nil = targets.blocking(AuthzLoadTargets.NULL).check(requests.get(i));
      if (nil.getStatus().getCode() != 0) {
        throw new IllegalStateException("the null server answered " + nil.getStatus());
      }
      CheckResponse answer = targets.blocking(AuthzLoadTargets.MESHGUARD).check(requests.get(i));
      boolean denied = AuthzLoadTargets.deniedAt(i);
      Value policy = answer.getDynamicMetadata().getFieldsMap().get("policy");
      String expectedPolicy = denied ? AuthzLoadTargets.DENY_POLICY : AuthzLoadTargets.MATCHING_POLICY;
      if ((answer.getStatus().getCode() != 0) != denied || policy == null
          || !policy.getStringValue().contains(expectedPolicy)) {
        throw new IllegalStateException("meshguard answered request " + i + " with status "
            + answer.getStatus().getCode() + " (" + answer.getStatus().getMessage() + "), policy "
            + (policy == null ? "none" : policy.getStringValue()) + "; expected " + (denied ? "a deny" : "an allow")
            + " by " + expectedPolicy);
      }
    }
  }

  private static Figures measure(Settings settings, Map<String, LoadGenerator> load, AuthzLoadTargets targets,
      PrintStream progress) throws InterruptedException {
    progress.printf(Locale.ROOT, "authz-load: warm-up %d s, alternating the targets%n", settings.warmup().toSeconds());
    Duration slice = settings.warmup().dividedBy(2L * WARMUP_SLICES);
    if (!slice.isZero()) {
      for (int s = 0; s < WARMUP_SLICES; s++) {
        for (String target : TARGETS) {
          load.get(target).closedLoop(settings.closedLoopOutstanding(), slice);
        }
      }
    }
    Map<String, List<Double>> maxRates = new LinkedHashMap<>();
    Map<String, Map<Integer, List<LoadGenerator.OpenLoopResult>>> open = new LinkedHashMap<>();
    for (String target : TARGETS) {
      maxRates.put(target, new ArrayList<>());
      open.put(target, new LinkedHashMap<>());
      settings.rates().forEach(rate -> open.get(target).put(rate, new ArrayList<>()));
    }
    List<Double> throughputRatios = new ArrayList<>();
    for (int round = 1; round <= settings.rounds(); round++) {
      List<String> order = round % 2 == 1 ? TARGETS : TARGETS.reversed();
      for (String target : order) {
        LoadGenerator.ClosedLoopResult result = load.get(target).closedLoop(settings.closedLoopOutstanding(),
            settings.maxThroughput());
        maxRates.get(target).add(result.perSecond());
        progress.printf(Locale.ROOT, "authz-load: round %d %-9s max throughput %.0f/s (%d in flight, %d errors)%n",
            round, target, result.perSecond(), settings.closedLoopOutstanding(), result.failed());
      }
      throughputRatios.add(maxRates.get(AuthzLoadTargets.MESHGUARD).getLast()
          / maxRates.get(AuthzLoadTargets.NULL).getLast());
      for (int rate : settings.rates()) {
        for (String target : order) {
          LoadGenerator.OpenLoopResult result = load.get(target).openLoop(rate, settings.perRate(),
              settings.maxOutstanding());
          open.get(target).get(rate).add(result);
          Histogram h = result.latency();
          progress.printf(Locale.ROOT, "authz-load: round %d %-9s %5d rps: achieved %.0f/s, p50 %.3f ms, p99 %.3f ms,"
              + " p99.9 %.3f ms, max %.3f ms, %d errors (%d unsent), %d denied%n", round, target, rate,
              result.achievedRate(), ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
              ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()), result.errors(), result.unsent(),
              result.denied());
        }
      }
    }
    return figures(settings, targets, maxRates, throughputRatios, open);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static Figures figures(Settings settings, AuthzLoadTargets targets, Map<String, List<Double>> maxRates,
      List<Double> throughputRatios, Map<String, Map<Integer, List<LoadGenerator.OpenLoopResult>>> open) {
    Figures figures = new Figures()
        .put("policies", targets.servedPolicies())
        .put("request_pool", AuthzLoadTargets.REQUEST_POOL)
        .put("denied_share", 1.0 / AuthzLoadTargets.DENY_EVERY)
        .put("audit_allow_sample_rate", AuthzLoadTargets.AUDIT_ALLOW_SAMPLE_RATE);
    Figures ratios = new Figures();
    Figures goals = new Figures();
    for (String target : TARGETS) {
      figures.put(target + "_max_rps", mean(maxRates.get(target)));
    }
    Spread throughput = Spread.of(throughputRatios);
    ratios.put("max_throughput", throughput.median())
        .put("max_throughput_min", throughput.min())
        .put("max_throughput_max", throughput.max());
    double throughputRatio = rounded(throughput.median());
    goals.put("max_throughput", goal(throughputRatio, ">= " + THROUGHPUT_GOAL, throughputRatio >= THROUGHPUT_GOAL));
    for (int rate : settings.rates()) {
      Map<String, Histogram> merged = new LinkedHashMap<>();
      for (String target : TARGETS) {
        List<LoadGenerator.OpenLoopResult> runs = open.get(target).get(rate);
        Histogram h = LoadGenerator.merge(runs.stream().map(LoadGenerator.OpenLoopResult::latency).toList());
        if (h.getTotalCount() == 0) {
          throw new IllegalStateException(target + " answered no request at " + rate + " rps");
        }
        merged.put(target, h);
        String key = target + "_" + rate;
        long answered = runs.stream().mapToLong(LoadGenerator.OpenLoopResult::answered).sum();
        long nanos = runs.stream().mapToLong(LoadGenerator.OpenLoopResult::nanos).sum();
        figures.put(key + "_p50_us", us(h.getValueAtPercentile(50)))
            .put(key + "_p99_us", us(h.getValueAtPercentile(99)))
            .put(key + "_p999_us", us(h.getValueAtPercentile(99.9)))
            .put(key + "_max_us", us(h.getMaxValue()))
            .put(key + "_achieved_rps", answered * 1e9 / nanos)
            .put(key + "_errors", runs.stream().mapToLong(LoadGenerator.OpenLoopResult::errors).sum())
            .put(key + "_denied", runs.stream().mapToLong(LoadGenerator.OpenLoopResult::denied).sum());
      }
      Histogram mine = merged.get(AuthzLoadTargets.MESHGUARD);
      Histogram floor = merged.get(AuthzLoadTargets.NULL);
      double p99 = rounded((double) mine.getValueAtPercentile(99) / floor.getValueAtPercentile(99));
      ratios.put("p50_" + rate, (double) mine.getValueAtPercentile(50) / floor.getValueAtPercentile(50))
          .put("p99_" + rate, p99)
          .put("p999_" + rate, (double) mine.getValueAtPercentile(99.9) / floor.getValueAtPercentile(99.9));
      goals.put("p99_" + rate, goal(p99, "<= " + P99_GOAL, p99 <= P99_GOAL));
      List<LoadGenerator.OpenLoopResult> runs = open.get(AuthzLoadTargets.MESHGUARD).get(rate);
      double achieved = rounded(runs.stream().mapToDouble(r -> r.achievedRate() / rate).min().orElseThrow());
      long errors = runs.stream().mapToLong(LoadGenerator.OpenLoopResult::errors).sum();
      goals.put("rate_" + rate, goal(achieved, ">= " + RATE_GOAL + " of the target rate in every round, no errors",
          achieved >= RATE_GOAL && errors == 0));
    }
    figures.put("audit_events_written", targets.auditWritten())
        .put("audit_appends_rejected", targets.auditRejected())
        .put("rounds", settings.rounds())
        .put("seconds_per_rate", settings.perRate().toMillis() / 1000.0)
        .put("max_throughput_s", settings.maxThroughput().toMillis() / 1000.0)
        .put("warmup_s", settings.warmup().toMillis() / 1000.0)
        .put("channels", settings.channels())
        .put("max_outstanding", settings.maxOutstanding())
        .put("closed_loop_outstanding", settings.closedLoopOutstanding())
        .put("java_version", Runtime.version().toString())
        .put("cpus", Runtime.getRuntime().availableProcessors());
    return new Figures().put("figures", figures).put("ratios", ratios).put("goals", goals);
  }

  /** As {@link Figures} prints it, so a goal is judged on the value the line shows. */
  private static double rounded(double value) {
    return java.math.BigDecimal.valueOf(value).setScale(3, java.math.RoundingMode.HALF_EVEN).doubleValue();
  }

  private static double us(long nanos) {
    return nanos / 1e3;
  }

  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
  }

  private static Figures goal(double value, String goal, boolean met) {
    return new Figures().put("value", value).put("goal", goal).put("met", met);
  }

  private record Spread(double median, double min, double max) {
    static Spread of(List<Double> values) {
      double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      int mid = sorted.length / 2;
      double median = sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      return new Spread(median, sorted[0], sorted[sorted.length - 1]);
    }
  }
}

package dev.meshguard.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code bench/run policy-eval}: authorization decisions per second by meshguard's compiled
 * evaluator and by grpc-java's Envoy RBAC engine on the config meshguard emits for the same
 * policies, at several policy counts, with every policy in scope of the workload (the worst case)
 * and with the policies spread over namespaces (a real mesh). One JMH run holds both engines, so
 * the ratios compare like with like on the same machine at the same time.
 *
 * <p>Goals (issue #3): at 1,000 in-scope policies meshguard decides at least 10 times as fast as
 * grpc-java's engine ({@code meshguard_vs_grpc_at_1000}); meshguard's cost per decision at 10,000
 * in-scope policies is at most twice its cost at 100 ({@code cost_10000_over_100}), i.e. the cost
 * grows sub-linearly. Both are computed from the largest and smallest counts run when a setting
 * leaves 100, 1,000 or 10,000 out (tests only).
 */
final class PolicyEvalSuite implements Suite {
  private static final List<String> LAYOUTS = List.of(PolicyMix.Layout.IN_SCOPE.key, PolicyMix.Layout.SPREAD.key);

  /**
   * JMH settings.
   *
   * @param counts the policy counts measured
   * @param forks 0 runs in this JVM (quick); 1 in a fresh JVM, as JMH recommends
   */
  record Settings(List<Integer> counts, int forks, int warmupIterations, Duration warmupTime, int iterations,
      Duration iterationTime) {
    Settings {
      counts = List.copyOf(counts);
      if (counts.isEmpty() || forks < 0 || iterations < 1 || warmupIterations < 0) {
        throw new IllegalArgumentException("need at least one policy count and one iteration");
      }
    }
  }

  static final List<Integer> COUNTS = List.of(10, 100, 1_000, 10_000);
  /** A few minutes on two cores. */
  static final Settings FULL = new Settings(COUNTS, 1, 3, Duration.ofSeconds(1), 5, Duration.ofSeconds(1));
  /** Under two minutes on two cores; the error bars are wide. */
  static final Settings QUICK = new Settings(COUNTS, 0, 1, Duration.ofMillis(300), 2, Duration.ofMillis(300));

  private final Settings full;
  private final Settings quick;

  PolicyEvalSuite() {
    this(FULL, QUICK);
  }

  PolicyEvalSuite(Settings full, Settings quick) {
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "policy-eval";
  }

  @Override
  public String description() {
    return "decisions/s at 10..10,000 policies (in scope, spread): meshguard vs grpc-java's RBAC engine";
  }

  @Override
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws RunnerException {
    Settings settings = quick ? this.quick : full;
    Map<String, Double> nanos = measure(settings, progress);
    return figures(settings, nanos);
  }

  /** Nanoseconds per decision, keyed {@code <engine>_<layout>_<count>}. */
  private static Map<String, Double> measure(Settings settings, PrintStream progress) throws RunnerException {
    String benchmark = PolicyEvalBenchmark.class.getName();
    Options options = new OptionsBuilder()
        .include("^" + Pattern.quote(benchmark) + "\\.(meshguard|grpc)$")
        .param("policies", settings.counts().stream().map(String::valueOf).toArray(String[]::new))
        .param("layout", LAYOUTS.toArray(String[]::new))
        .forks(settings.forks())
        .warmupIterations(settings.warmupIterations())
        .warmupTime(TimeValue.milliseconds(settings.warmupTime().toMillis()))
        .measurementIterations(settings.iterations())
        .measurementTime(TimeValue.milliseconds(settings.iterationTime().toMillis()))
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results =
        new Runner(options, OutputFormatFactory.createFormatInstance(progress, VerboseMode.NORMAL)).run();
    Map<String, Double> nanos = new HashMap<>();
    for (RunResult result : results) {
      String label = result.getParams().getBenchmark();
      String engine = label.substring(label.lastIndexOf('.') + 1);
      String key = engine + "_" + result.getParams().getParam("layout") + "_" + result.getParams().getParam("policies");
      nanos.put(key, result.getPrimaryResult().getScore());
    }
    int expected = 2 * LAYOUTS.size() * settings.counts().size();
    if (nanos.size() != expected) {
      throw new IllegalStateException("JMH ran " + nanos.size() + " of the " + expected + " policy-eval benchmarks");
    }
    return nanos;
  }

  private static Figures figures(Settings settings, Map<String, Double> nanos) {
    Figures figures = new Figures();
    Figures ratios = new Figures();
    for (String layout : LAYOUTS) {
      for (int count : settings.counts()) {
        double meshguard = nanos.get("meshguard_" + layout + "_" + count);
        double grpc = nanos.get("grpc_" + layout + "_" + count);
        figures.put("meshguard_" + layout + "_" + count + "_per_sec", 1e9 / meshguard);
        figures.put("grpc_" + layout + "_" + count + "_per_sec", 1e9 / grpc);
        figures.put("meshguard_" + layout + "_" + count + "_ns", meshguard);
        figures.put("grpc_" + layout + "_" + count + "_ns", grpc);
        ratios.put("meshguard_vs_grpc_" + layout + "_" + count, grpc / meshguard);
      }
    }
    int small = settings.counts().contains(100) ? 100 : settings.counts().get(0);
    int middle = settings.counts().contains(1_000) ? 1_000 : settings.counts().get(settings.counts().size() - 1);
    int large = settings.counts().contains(10_000) ? 10_000 : settings.counts().get(settings.counts().size() - 1);
    String inScope = PolicyMix.Layout.IN_SCOPE.key;
    double speedup = nanos.get("grpc_" + inScope + "_" + middle) / nanos.get("meshguard_" + inScope + "_" + middle);
    double growth = nanos.get("meshguard_" + inScope + "_" + large) / nanos.get("meshguard_" + inScope + "_" + small);
    ratios.put("cost_10000_over_100", growth);
    Figures goals = new Figures()
        .put("meshguard_vs_grpc_at_1000", goal(speedup, ">= 10", speedup >= 10))
        .put("cost_10000_over_100", goal(growth, "<= 2", growth <= 2));
    return new Figures()
        .put("figures", figures
            .put("requests", PolicyEvalBenchmark.REQUESTS)
            .put("forks", settings.forks())
            .put("iterations", settings.iterations())
            .put("java_version", Runtime.version().toString())
            .put("cpus", Runtime.getRuntime().availableProcessors()))
        .put("ratios", ratios)
        .put("goals", goals);
  }

  private static Figures goal(double value, String goal, boolean met) {
    return new Figures().put("value", value).put("goal", goal).put("met", met);
  }
}

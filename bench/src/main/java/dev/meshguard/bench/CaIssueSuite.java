package dev.meshguard.bench;

import dev.meshguard.core.crypto.Crypto;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.runner.options.WarmupMode;

/**
 * {@code bench/run ca-issue}: X.509-SVIDs issued per second by the CA ({@link CaIssueBenchmark}:
 * ECDSA P-256 CSRs, a P-256 CA key), on one thread and on every core, as a ratio to the physical
 * limit per certificate with the same provider in the same run: one P-256 signature verification
 * (the CSR's) plus one P-256 signature (the leaf's). Goal (issue #7): every ratio at least
 * {@value #GOAL}, i.e. the CA's own work (CSR parsing and policy, building and parsing the leaf,
 * the serial) costs less than half of the two unavoidable public-key operations.
 *
 * <p>In default mode (the JDK's providers) and in FIPS mode (BC-FIPS, approved-only). Approved-only
 * mode is JVM-wide and must be on before BC-FIPS loads, so FIPS mode always runs in JMH forks
 * started with {@code -D}{@value Crypto#APPROVED_ONLY_PROPERTY}{@code =true}, even in a quick run;
 * default mode runs in this JVM for a quick run. One JMH run per mode holds the CA and its
 * baseline, single-threaded and on all cores, so each ratio compares like with like.
 */
final class CaIssueSuite implements Suite {
  static final double GOAL = 0.7;
  static final String DEFAULT = "default";
  static final String FIPS = "fips";

  /**
   * JMH settings.
   *
   * @param modes the crypto modes measured ({@value #DEFAULT}, {@value #FIPS})
   * @param forks 0 runs default mode in this JVM (quick); FIPS mode always forks at least once
   */
  record Settings(List<String> modes, int forks, int warmupIterations, Duration warmupTime, int iterations,
      Duration iterationTime) {
    Settings {
      modes = List.copyOf(modes);
      if (modes.isEmpty() || !List.of(DEFAULT, FIPS).containsAll(modes)) {
        throw new IllegalArgumentException("modes are default and/or fips, found " + modes);
      }
      if (forks < 0 || iterations < 1 || warmupIterations < 0) {
        throw new IllegalArgumentException("need forks >= 0, iterations >= 1 and warmupIterations >= 0");
      }
    }
  }

  static final List<String> MODES = List.of(DEFAULT, FIPS);
  /** About three minutes on two cores. */
  static final Settings FULL = new Settings(MODES, 1, 5, Duration.ofSeconds(2), 5, Duration.ofSeconds(2));
  /**
   * About a minute and a half on two cores; the error bars are wide, and a short warm-up errs
   * against the CA (it has more code for the JIT to compile than the baseline).
   */
  static final Settings QUICK = new Settings(MODES, 0, 5, Duration.ofSeconds(1), 2, Duration.ofSeconds(1));

  /** The benchmark methods: {@code issue} and its baseline, each on one thread and on all cores. */
  private static final List<String> METHODS = List.of("issue", "issueAllCores", "verifyAndSign",
      "verifyAndSignAllCores");

  private final Settings full;
  private final Settings quick;

  CaIssueSuite() {
    this(FULL, QUICK);
  }

  CaIssueSuite(Settings full, Settings quick) {
    this.full = Objects.requireNonNull(full, "full");
    this.quick = Objects.requireNonNull(quick, "quick");
  }

  @Override
  public String name() {
    return "ca-issue";
  }

  @Override
  public String description() {
    return "certificates issued/s (P-256), 1 thread and all cores, vs one P-256 verify + sign; default and FIPS";
  }

  @Override
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws RunnerException {
    Settings settings = quick ? this.quick : full;
    Map<String, Double> perSecond = new HashMap<>();
    for (String mode : settings.modes()) {
      perSecond.putAll(measure(mode, settings, progress));
    }
    return figures(settings, perSecond);
  }

  /** Operations per second of each benchmark method in {@code mode}, keyed {@code <mode>_<method>}. */
  private static Map<String, Double> measure(String mode, Settings settings, PrintStream progress)
      throws RunnerException {
    String benchmark = CaIssueBenchmark.class.getName();
    boolean fips = mode.equals(FIPS);
    int forks = fips ? Math.max(1, settings.forks()) : settings.forks();
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include("^" + Pattern.quote(benchmark) + "\\.(" + String.join("|", METHODS) + ")$")
        .param("mode", mode)
        .forks(forks)
        // In one JVM the benchmark run first would warm the JIT for the next (the CA's EC code is
        // the baseline's), so all are warmed up before any is measured; a fork warms its own.
        .warmupMode(forks == 0 ? WarmupMode.BULK : WarmupMode.INDI)
        .warmupIterations(settings.warmupIterations())
        .warmupTime(TimeValue.milliseconds(settings.warmupTime().toMillis()))
        .measurementIterations(settings.iterations())
        .measurementTime(TimeValue.milliseconds(settings.iterationTime().toMillis()))
        .shouldFailOnError(true);
    if (fips) {
      // JMH starts forks with this JVM's options; approved-only mode goes on before BC-FIPS loads.
      List<String> jvmArgs = new ArrayList<>(List.of("-D" + Crypto.APPROVED_ONLY_PROPERTY + "=true"));
      if (Runtime.version().feature() >= 22) {
        jvmArgs.add("--enable-native-access=ALL-UNNAMED"); // BC-FIPS loads native code on JDK 22+
      }
      options.jvmArgsAppend(jvmArgs.toArray(String[]::new));
    }
    progress.printf("ca-issue: %s mode%s%n", mode, fips ? " (forked JVM, approved-only)" : "");
    Collection<RunResult> results =
        new Runner(options.build(), OutputFormatFactory.createFormatInstance(progress, VerboseMode.NORMAL)).run();
    Map<String, Double> perSecond = new HashMap<>();
    for (RunResult result : results) {
      String label = result.getParams().getBenchmark();
      perSecond.put(mode + "_" + label.substring(label.lastIndexOf('.') + 1), result.getPrimaryResult().getScore());
    }
    if (perSecond.size() != METHODS.size()) {
      throw new IllegalStateException("JMH ran " + perSecond.size() + " of the " + METHODS.size() + " ca-issue"
          + " benchmarks in " + mode + " mode");
    }
    return perSecond;
  }

  private static Figures figures(Settings settings, Map<String, Double> perSecond) {
    Figures figures = new Figures();
    Figures ratios = new Figures();
    Figures goals = new Figures();
    for (String mode : settings.modes()) {
      double issue = perSecond.get(mode + "_issue");
      double issueAll = perSecond.get(mode + "_issueAllCores");
      double baseline = perSecond.get(mode + "_verifyAndSign");
      double baselineAll = perSecond.get(mode + "_verifyAndSignAllCores");
      figures.put(mode + "_issued_per_sec", issue)
          .put(mode + "_issued_per_sec_all_cores", issueAll)
          .put(mode + "_verify_sign_per_sec", baseline)
          .put(mode + "_verify_sign_per_sec_all_cores", baselineAll);
      double single = issue / baseline;
      double all = issueAll / baselineAll;
      ratios.put(mode + "_single_thread", single).put(mode + "_all_cores", all);
      goals.put(mode + "_single_thread", goal(single)).put(mode + "_all_cores", goal(all));
    }
    return new Figures()
        .put("figures", figures
            .put("threads_all_cores", Runtime.getRuntime().availableProcessors())
            .put("forks", settings.forks())
            .put("iterations", settings.iterations())
            .put("java_version", Runtime.version().toString())
            .put("cpus", Runtime.getRuntime().availableProcessors()))
        .put("ratios", ratios)
        .put("goals", goals);
  }

  private static Figures goal(double value) {
    return new Figures().put("value", value).put("goal", ">= " + GOAL).put("met", value >= GOAL);
  }
}

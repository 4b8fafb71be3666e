package dev.meshguard.bench;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench/run ca-issue}: X.509-SVIDs issued per second by the CA (ECDSA P-256 CSRs, a P-256
 * CA key), on one thread and on every core, as a ratio to the physical limit per certificate with
 * the same provider in the same run: one P-256 signature verification (the CSR's) plus one P-256
 * signature (the leaf's). Goal (issue #7): every ratio at least {@value #GOAL}, i.e. the CA's own
 * work (CSR parsing and policy, building and parsing the leaf, the serial) costs less than half of
 * the two unavoidable public-key operations. The method is {@link CaIssueRun}'s: a shared warm-up,
 * then rounds that interleave the CA and its baseline.
 *
 * <p>In default mode (the JDK's providers, measured in this JVM) and in FIPS mode (BC-FIPS in
 * approved-only mode). Approved-only mode is JVM-wide and must be on before BC-FIPS loads, so FIPS
 * mode runs in a JVM of its own, started with {@code -D}{@value Crypto#APPROVED_ONLY_PROPERTY}{@code
 * =true} and this JVM's heap settings and class path.
 */
final class CaIssueSuite implements Suite {
  static final double GOAL = 0.7;
  static final String DEFAULT = "default";
  static final String FIPS = "fips";
  static final List<String> MODES = List.of(DEFAULT, FIPS);
  /** The longest a FIPS-mode JVM may take beyond its planned run before it counts as hung. */
  private static final Duration CHILD_SLACK = Duration.ofMinutes(5);

  /**
   * How much to run.
   *
   * @param modes the crypto modes measured ({@value #DEFAULT}, {@value #FIPS})
   * @param run the warm-up, rounds and slices of each mode; threads 0 for every core
   */
  record Settings(List<String> modes, CaIssueRun.Settings run) {
    Settings {
      modes = List.copyOf(modes);
      if (modes.isEmpty() || !MODES.containsAll(modes)) {
        throw new IllegalArgumentException("modes are default and/or fips, found " + modes);
      }
      Objects.requireNonNull(run, "run");
    }
  }

  private static final int CORES = Runtime.getRuntime().availableProcessors();
  /** About three minutes on two cores. */
  static final Settings FULL = new Settings(MODES,
      new CaIssueRun.Settings(Duration.ofSeconds(30), 15, Duration.ofSeconds(1), CORES));
  /** About a minute and a half on two cores; fewer and shorter rounds, so a wider spread. */
  static final Settings QUICK = new Settings(MODES,
      new CaIssueRun.Settings(Duration.ofSeconds(20), 8, Duration.ofMillis(500), CORES));

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
  public Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception {
    Settings settings = quick ? this.quick : full;
    List<CaIssueRun.Result> results = new ArrayList<>();
    for (String mode : settings.modes()) {
      results.add(mode.equals(FIPS) ? inOwnJvm(mode, settings.run(), progress)
          : CaIssueRun.run(mode, settings.run(), progress));
    }
    return figures(settings, results);
  }

  static CryptoMode cryptoMode(String mode) {
    return switch (mode) {
      case DEFAULT -> CryptoMode.DEFAULT;
      case FIPS -> CryptoMode.FIPS;
      default -> throw new IllegalArgumentException("mode is default or fips, found " + mode);
    };
  }

  /** Runs {@link CaIssueRun#main} in a new JVM in approved-only mode; its stderr goes to {@code progress}. */
  private static CaIssueRun.Result inOwnJvm(String mode, CaIssueRun.Settings run, PrintStream progress)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String argument : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (argument.startsWith("-Xms") || argument.startsWith("-Xmx")) {
        command.add(argument); // the same heap, so the modes compare
      }
    }
    command.add("-D" + Crypto.APPROVED_ONLY_PROPERTY + "=true");
    if (Runtime.version().feature() >= 22) {
      command.add("--enable-native-access=ALL-UNNAMED"); // BC-FIPS loads native code
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), CaIssueRun.class.getName(), mode,
        Long.toString(run.warmup().toMillis()), Integer.toString(run.rounds()), Long.toString(run.slice().toMillis()),
        Integer.toString(run.threads())));
    progress.println("ca-issue: " + mode + " mode in a JVM of its own (approved-only mode is JVM-wide)");
    Process process = new ProcessBuilder(command).start();
    Thread relay = Thread.ofPlatform().name("ca-issue-stderr").start(() -> {
      try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(),
          StandardCharsets.UTF_8))) {
        err.lines().forEach(progress::println);
      } catch (IOException e) {
        progress.println("ca-issue: lost the " + mode + " JVM's output: " + e);
      }
    });
    String stdout;
    try (var out = process.getInputStream()) {
      stdout = new String(out.readAllBytes(), StandardCharsets.UTF_8);
    }
    Duration planned = run.warmup().plus(run.slice().multipliedBy(4L * run.rounds()));
    if (!process.waitFor(planned.plus(CHILD_SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new IOException("the " + mode + "-mode JVM did not finish");
    }
    relay.join();
    if (process.exitValue() != 0) {
      throw new IOException("the " + mode + "-mode JVM failed (exit status " + process.exitValue()
          + "); its output is above");
    }
    String[] lines = stdout.strip().split("\n");
    return CaIssueRun.fromJson(lines[lines.length - 1]);
  }

  private static Figures figures(Settings settings, List<CaIssueRun.Result> results) {
    Figures figures = new Figures();
    Figures ratios = new Figures();
    Figures goals = new Figures();
    for (CaIssueRun.Result result : results) {
      String mode = result.mode();
      CaIssueRun.Rates single = result.single();
      CaIssueRun.Rates all = result.allCores();
      figures.put(mode + "_issued_per_sec", single.issuedPerSecond())
          .put(mode + "_verify_sign_per_sec", single.baselinePerSecond())
          .put(mode + "_issued_per_sec_all_cores", all.issuedPerSecond())
          .put(mode + "_verify_sign_per_sec_all_cores", all.baselinePerSecond());
      ratios.put(mode + "_single_thread", single.medianRatio())
          .put(mode + "_single_thread_min", single.minRatio())
          .put(mode + "_single_thread_max", single.maxRatio())
          .put(mode + "_all_cores", all.medianRatio())
          .put(mode + "_all_cores_min", all.minRatio())
          .put(mode + "_all_cores_max", all.maxRatio());
      goals.put(mode + "_single_thread", goal(single.medianRatio()))
          .put(mode + "_all_cores", goal(all.medianRatio()));
    }
    CaIssueRun.Settings run = settings.run();
    return new Figures()
        .put("figures", figures
            .put("threads_all_cores", run.threads())
            .put("rounds", run.rounds())
            .put("slice_ms", run.slice().toMillis())
            .put("warmup_s", run.warmup().toSeconds())
            .put("java_version", Runtime.version().toString())
            .put("cpus", CORES))
        .put("ratios", ratios)
        .put("goals", goals);
  }

  private static Figures goal(double value) {
    return new Figures().put("value", value).put("goal", ">= " + GOAL).put("met", value >= GOAL);
  }
}

package dev.meshguard.bench;

import dev.meshguard.core.time.Clock;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code bench/run SUITE [--quick] [--dir DIR]}: runs one suite and prints its figures as the
 * last line of stdout, one JSON object. Progress and JMH's own report go to stderr, so
 * {@code bench/run audit-write | tail -1} is the result. Exit status: 0 done, 1 the suite failed,
 * 2 usage (unknown suite or option).
 */
public final class Main {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;

  private Main() {}

  /** The suites bench/run knows, in the order the usage message lists them. */
  static List<Suite> suites() {
    return List.of(new AuditWriteSuite(Clock.SYSTEM), new PolicyEvalSuite(), new CaIssueSuite(),
        new AuthzLoadSuite(), new RlsLoadSuite(), new QuotaSuite());
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, suites(), out, err);
  }

  static int run(String[] args, List<Suite> suites, PrintStream out, PrintStream err) {
    boolean quick = false;
    Path dir = null;
    List<String> names = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> quick = true;
        case "--dir" -> {
          if (i + 1 == args.length) {
            return usage(err, suites, "--dir needs a directory");
          }
          dir = Path.of(args[++i]);
        }
        case "-h", "--help" -> {
          usage(out, suites, null);
          return OK;
        }
        default -> {
          if (args[i].startsWith("-")) {
            return usage(err, suites, "unknown option " + args[i]);
          }
          names.add(args[i]);
        }
      }
    }
    if (names.size() != 1) {
      return usage(err, suites, names.isEmpty() ? "name a suite" : "name one suite, found " + String.join(" ", names));
    }
    Optional<Suite> suite = suites.stream().filter(s -> s.name().equals(names.get(0))).findFirst();
    if (suite.isEmpty()) {
      return usage(err, suites, "unknown suite " + names.get(0));
    }
    try {
      Path workDir = dir != null ? Files.createDirectories(dir) : Path.of(System.getProperty("java.io.tmpdir"));
      Figures figures = new Figures().put("suite", suite.get().name()).put("quick", quick)
          .putAll(suite.get().run(quick, workDir, err));
      out.println(figures.toJsonLine());
      return OK;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("bench: " + suite.get().name() + " was interrupted");
      return FAILED;
    } catch (Exception e) {
      err.println("bench: " + suite.get().name() + " failed: " + e);
      e.printStackTrace(err);
      return FAILED;
    }
  }

  private static int usage(PrintStream to, List<Suite> suites, String problem) {
    if (problem != null) {
      to.println("bench: " + problem);
    }
    to.println("usage: bench/run SUITE [--quick] [--dir DIR]");
    to.println("  --quick    a short run (seconds, for CI smoke); its figures are rough");
    to.println("  --dir DIR  where disk-bound suites write (bench/run passes bench/target/work)");
    to.println("suites:");
    for (Suite suite : suites) {
      to.printf("  %-12s %s%n", suite.name(), suite.description());
    }
    return USAGE;
  }
}

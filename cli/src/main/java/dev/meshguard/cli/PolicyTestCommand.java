package dev.meshguard.cli;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.DryRunResult;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.Outcome;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.PolicyLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard policy test PATH...}: runs the policy unit tests in {@code *_test.yaml} files
 * (format: {@link PolicyTests}). Prints PASS or FAIL per case, what differed for a failure, and a
 * summary. Exit 0 when every case passed; 1 when one failed; 2 when a test file or the policies
 * it names cannot be loaded (the other files still run).
 */
@Command(name = "test", mixinStandardHelpOptions = true, description = {
    "Run policy unit tests: *_test.yaml files (kind: PolicyTest) of requests and the decisions expected",
    "for them, like opa test. Prints PASS/FAIL per case; exit 0 all passed, 1 a case failed, 2 a test",
    "file or its policies could not be loaded."})
final class PolicyTestCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Parameters(paramLabel = "PATH", arity = "1..*",
      description = "Test files, or directories searched recursively for *_test.yaml and *_test.yml.")
  private List<Path> paths;

  @Mixin
  private PolicyCommand.MeshOption mesh;

  @Option(names = {"-v", "--verbose"}, description = "Print the decision's reason for passing cases too.")
  private boolean verbose;

  /** Engines already compiled, by (policies, mesh config): test files beside one another share them. */
  private final Map<List<Object>, Object> engines = new HashMap<>();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<Path> files;
    try {
      files = testFiles(paths);
    } catch (IOException | UncheckedIOException e) {
      err.println("meshguard: " + e.getMessage());
      err.flush();
      return CliErrors.CONFIG;
    }
    if (files.isEmpty()) {
      err.println("meshguard: no policy test files (*_test.yaml, *_test.yml) under " + paths);
      err.flush();
      return CliErrors.CONFIG;
    }
    int passed = 0;
    int failed = 0;
    int broken = 0;
    for (Path file : files) {
      PolicyTests.TestFile test;
      PolicyEngine engine;
      try {
        test = PolicyTests.parse(file, read(file));
        engine = engine(test);
      } catch (ConfigException e) {
        broken++;
        out.println("ERROR " + file + ": cannot run its cases:");
        for (ConfigError error : e.errors()) {
          out.println("  " + error.render());
        }
        continue;
      }
      for (PolicyTests.Case c : test.cases()) {
        String where = file + ":" + c.mark().line() + ": " + c.name();
        Decision decision;
        try {
          decision = engine.evaluate(PolicyCommand.attributes(engine, c.request()),
              PolicyRequests.decider(c.providerDecisions()));
        } catch (PolicyRequests.BadRequest e) {
          failed++;
          out.println("FAIL  " + where);
          out.println("      the request cannot be decided: " + e.getMessage());
          continue;
        }
        List<String> differences = differences(c.expect(), decision);
        if (differences.isEmpty()) {
          passed++;
          out.println("PASS  " + where);
          if (verbose) {
            out.println("      " + decision.reason());
          }
        } else {
          failed++;
          out.println("FAIL  " + where);
          differences.forEach(d -> out.println("      " + d));
          out.println("      got " + PolicyRequests.decisionJson(decision));
        }
      }
    }
    int total = passed + failed;
    out.println();
    out.println(total + (total == 1 ? " case" : " cases") + " in " + files.size()
        + (files.size() == 1 ? " file" : " files") + ": " + passed + " passed, " + failed + " failed"
        + (broken == 0 ? "" : ", " + broken + (broken == 1 ? " file" : " files") + " could not run"));
    out.flush();
    return broken > 0 ? CliErrors.CONFIG : failed > 0 ? PolicyCommand.INVALID : 0;
  }

  private PolicyEngine engine(PolicyTests.TestFile test) throws ConfigException {
    Path meshFile = test.meshConfig() != null ? test.meshConfig() : mesh.meshConfig;
    List<Object> key = List.of(test.policies().stream().map(p -> p.toAbsolutePath().normalize()).toList(),
        Objects.toString(meshFile == null ? null : meshFile.toAbsolutePath().normalize()));
    Object cached = engines.get(key);
    if (cached instanceof ConfigException e) {
      throw e;
    }
    if (cached instanceof PolicyEngine engine) {
      return engine;
    }
    try {
      MeshConfig meshConfig = PolicyRequests.meshConfig(meshFile);
      PolicyEngine engine = PolicyEngine.compile(PolicyLoader.load(test.policies()), meshConfig);
      engines.put(key, engine);
      return engine;
    } catch (ConfigException e) {
      engines.put(key, e);
      throw e;
    }
  }

  /** What differs between the expectation and the decision; empty when the case passes. */
  static List<String> differences(PolicyTests.Expect expect, Decision d) {
    List<String> out = new ArrayList<>();
    if (expect.decision() != d.outcome()) {
      out.add("decision: expected " + expect.decision() + ", got " + d.outcome() + " (" + d.reason() + ")");
    }
    if (expect.policy() != null && !Objects.equals(expect.policy().value(), d.policy())) {
      out.add("policy: expected " + expect.policy().value() + ", got " + d.policy());
    }
    if (expect.action() != null && expect.action().value() != d.action()) {
      out.add("action: expected " + expect.action().value() + ", got " + d.action());
    }
    Integer rule = d.policy() == null || d.rule() < 0 ? null : d.rule();
    if (expect.rule() != null && !Objects.equals(expect.rule().value(), rule)) {
      out.add("rule: expected " + expect.rule().value() + ", got " + rule);
    }
    if (expect.audit() != null && !new LinkedHashSet<>(expect.audit()).equals(new LinkedHashSet<>(d.audit()))) {
      out.add("audit: expected " + expect.audit() + ", got " + d.audit());
    }
    if (expect.custom() != null && !expect.custom().equals(d.custom())) {
      out.add("custom: expected " + expect.custom() + ", got " + d.custom());
    }
    if (expect.dryRun() != null) {
      Map<String, Outcome> got = new LinkedHashMap<>();
      for (DryRunResult r : d.dryRun()) {
        got.put(r.policy(), r.decision());
      }
      if (!expect.dryRun().equals(got)) {
        out.add("dry_run: expected " + expect.dryRun() + ", got " + got);
      }
    }
    if (expect.reasonContains() != null && !d.reason().contains(expect.reasonContains())) {
      out.add("reason: expected it to contain \"" + expect.reasonContains() + "\", got \"" + d.reason() + "\"");
    }
    return out;
  }

  private static String read(Path file) throws ConfigException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(new ConfigError(file.toString(), 0, 0, "", "cannot read: " + e.getMessage()));
    }
  }

  /** Named files as they are; directories searched for {@code *_test.yaml} / {@code *_test.yml}, dot entries skipped. */
  static List<Path> testFiles(List<Path> paths) throws IOException {
    Set<Path> files = new LinkedHashSet<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(Files::isRegularFile)
              .filter(p -> isTestFile(p) && !hidden(path.relativize(p)))
              .sorted()
              .forEach(files::add);
        }
      } else if (Files.isRegularFile(path)) {
        files.add(path);
      } else {
        throw new IOException(path + ": no such file or directory");
      }
    }
    return List.copyOf(files);
  }

  private static boolean isTestFile(Path p) {
    String name = p.getFileName().toString();
    return name.endsWith("_test.yaml") || name.endsWith("_test.yml");
  }

  private static boolean hidden(Path relative) {
    for (Path part : relative) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }
}

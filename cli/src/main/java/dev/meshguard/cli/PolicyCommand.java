package dev.meshguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.InvalidRequestException;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.Outcome;
import dev.meshguard.policy.PolicyBundle;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.PolicyLoader;
import dev.meshguard.policy.PolicyResources;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.policy.Workload;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard policy ...}: Istio AuthorizationPolicy offline — validate, decide, explain,
 * test, compile, and bundle. Scripts and tests outside the project call these, so the options,
 * the JSON shape of {@code check} and the exit codes are a contract (README, "meshguard policy").
 *
 * <p>Exit codes: 0 done (for {@code check} and {@code explain}: whatever the decision); 1 the
 * input is invalid ({@code validate}), a test failed ({@code test}) or a bundle is refused
 * ({@code verify}); 2 the command could not run: policies or mesh config that do not load, a
 * malformed request, a missing key.
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
    description = "Validate, decide, explain, test, compile and bundle Istio AuthorizationPolicy offline.",
    subcommands = {PolicyCommand.Validate.class, PolicyCommand.Check.class, PolicyCommand.Explain.class,
        PolicyTestCommand.class, PolicyCommand.Compile.class, PolicyCommand.Bundle.class, PolicyCommand.Verify.class,
        PolicyCommand.Keygen.class})
final class PolicyCommand implements Runnable {
  @Spec
  private CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Exit code when the input is invalid or a check failed. */
  static final int INVALID = 1;

  /** {@code --mesh-config}: every evaluating subcommand takes it. */
  static final class MeshOption {
    @Option(names = "--mesh-config", paramLabel = "FILE", description = {
        "Istio MeshConfig YAML (rootNamespace, trustDomain, trustDomainAliases, extensionProviders),",
        "or the istio ConfigMap holding it; default: istio-system, cluster.local, no aliases or providers."})
    Path meshConfig;

    MeshConfig load() throws ConfigException {
      return PolicyRequests.meshConfig(meshConfig);
    }
  }

  /** {@code --policies PATH... [--mesh-config FILE] [--provider-decision NAME=DENY]}, compiled. */
  static final class EvalOptions {
    @Option(names = "--policies", paramLabel = "PATH", arity = "1..*", required = true,
        description = "Policy files or directories (searched recursively for *.yaml, *.yml, *.json).")
    List<Path> policies;

    @Mixin
    MeshOption mesh;

    @Option(names = "--provider-decision", paramLabel = "NAME=DENY", description = {
        "What a CUSTOM provider decides (ALLOW or DENY); providers cannot be called offline and",
        "allow unless named here. Repeatable."})
    Map<String, Outcome> providerDecisions;

    PolicyEngine compile() throws ConfigException {
      return compileAll(policies, mesh).engine();
    }
  }

  /** A loaded and compiled policy set. */
  record Compiled(PolicySet set, PolicyEngine engine) {}

  /**
   * Loads the mesh config and the policies and compiles them, reporting the mistakes of both at
   * once (a mesh config error does not hide the policies' errors).
   */
  static Compiled compileAll(List<Path> policies, MeshOption mesh) throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    MeshConfig meshConfig = null;
    PolicySet set = null;
    try {
      meshConfig = mesh.load();
    } catch (ConfigException e) {
      errors.addAll(e.errors());
    }
    try {
      set = PolicyLoader.load(policies);
    } catch (ConfigException e) {
      errors.addAll(e.errors());
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return new Compiled(set, PolicyEngine.compile(set, meshConfig));
  }

  /** Prints every error as {@code file:line:column: path: message} and a count; returns {@code code}. */
  static int diagnostics(PrintWriter err, ConfigException e, int code) {
    for (ConfigError error : e.errors()) {
      err.println(error.render());
    }
    err.println(e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"));
    err.flush();
    return code;
  }

  static int badRequest(PrintWriter err, String message) {
    err.println("meshguard: invalid request: " + message);
    err.flush();
    return CliErrors.CONFIG;
  }

  // ---------------------------------------------------------------------------------------------

  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = {"Check policy files as Istio's webhook would, and compile them (CEL conditions).",
          "Exit 0 when valid (warnings on stderr); 1 with every error as file:line:column: field.path: message."})
  static final class Validate implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH", arity = "1..*",
        description = "Policy files or directories (searched recursively for *.yaml, *.yml, *.json).")
    private List<Path> paths;

    @Mixin
    private MeshOption mesh;

    @Option(names = {"-v", "--verbose"}, description = "Also list the resources of other kinds that were skipped.")
    private boolean verbose;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      PolicySet set;
      try {
        set = compileAll(paths, mesh).set();
      } catch (ConfigException e) {
        return diagnostics(err, e, INVALID);
      }
      for (ConfigError warning : set.warnings()) {
        err.println("warning: " + warning.render());
      }
      if (verbose) {
        set.notes().forEach(note -> err.println("note: " + note));
      }
      err.flush();
      out.println("OK: " + counts(set) + "; revision " + set.revision()
          + (set.warnings().isEmpty() ? "" : " (" + set.warnings().size()
              + (set.warnings().size() == 1 ? " warning)" : " warnings)")));
      out.flush();
      return 0;
    }
  }

  static String counts(PolicySet set) {
    int ap = set.authorizationPolicies().size();
    int ra = set.requestAuthentications().size();
    return ap + (ap == 1 ? " AuthorizationPolicy, " : " AuthorizationPolicies, ") + ra
        + (ra == 1 ? " RequestAuthentication" : " RequestAuthentications");
  }

  // ---------------------------------------------------------------------------------------------

  /** {@code --request FILE|-} or {@code --requests FILE.jsonl}. */
  static final class RequestInput {
    @Option(names = "--request", paramLabel = "FILE|-", required = true,
        description = "One Envoy CheckRequest in protobuf JSON form; - reads standard input.")
    String request;

    @Option(names = "--requests", paramLabel = "FILE.jsonl", required = true, description = {
        "Many CheckRequests, one JSON object per line (- reads standard input); prints one line per",
        "input line, {\"error\":\"...\"} for a bad one, and exits 2 at the end if there was any."})
    String requests;
  }

  @Command(name = "check", mixinStandardHelpOptions = true, description = {
      "Decide an Envoy CheckRequest as the authz server would; print one JSON object:",
      "{\"decision\":\"ALLOW\"|\"DENY\",\"policy\":\"ns/name\"|null,\"action\":...|null,\"rule\":N|null,"
          + "\"audit\":[...],\"dry_run\":[{\"policy\":...,\"decision\":...}],\"custom\":[...],\"reason\":\"...\"}",
      "Exit 0 whatever the decision; 2 for a malformed request (reason on stderr) or policies that do not load."})
  static final class Check implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private EvalOptions options;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private RequestInput input;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      PolicyEngine engine;
      try {
        engine = options.compile();
      } catch (ConfigException e) {
        return diagnostics(err, e, CliErrors.CONFIG);
      }
      var decider = PolicyRequests.decider(options.providerDecisions);
      if (input.request != null) {
        try {
          RequestAttributes attributes = attributes(engine, PolicyRequests.read(input.request));
          out.println(PolicyRequests.decisionJson(engine.evaluate(attributes, decider)));
          out.flush();
          return 0;
        } catch (PolicyRequests.BadRequest e) {
          return badRequest(err, e.getMessage());
        }
      }
      return checkMany(engine, decider, out, err);
    }

    private int checkMany(PolicyEngine engine, dev.meshguard.policy.CustomDecider decider, PrintWriter out,
        PrintWriter err) {
      boolean anyBad = false;
      try (BufferedReader reader = input.requests.equals("-")
          ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
          : Files.newBufferedReader(Path.of(input.requests), StandardCharsets.UTF_8)) {
        int number = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          number++;
          try {
            Decision decision = engine.evaluate(attributes(engine, line), decider);
            out.println(PolicyRequests.decisionJson(decision));
          } catch (PolicyRequests.BadRequest e) {
            anyBad = true;
            out.println(PolicyRequests.errorJson("line " + number + ": " + e.getMessage()));
          }
        }
      } catch (IOException | UncheckedIOException e) {
        out.flush();
        err.println("meshguard: cannot read " + input.requests + ": " + e.getMessage());
        err.flush();
        return CliErrors.CONFIG;
      }
      out.flush();
      return anyBad ? CliErrors.CONFIG : 0;
    }
  }

  static RequestAttributes attributes(PolicyEngine engine, String json) throws PolicyRequests.BadRequest {
    try {
      return CheckRequestAttributes.from(PolicyRequests.parse(json), engine.meshConfig());
    } catch (InvalidRequestException e) {
      throw new PolicyRequests.BadRequest(e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Command(name = "explain", mixinStandardHelpOptions = true, description = {
      "Like check, in prose: which policies applied to the workload, and for each rule whether it",
      "matched or which clause did not. Exit codes as check."})
  static final class Explain implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private EvalOptions options;

    @Option(names = "--request", paramLabel = "FILE|-", required = true,
        description = "One Envoy CheckRequest in protobuf JSON form; - reads standard input.")
    private String request;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      PolicyEngine engine;
      try {
        engine = options.compile();
      } catch (ConfigException e) {
        return diagnostics(err, e, CliErrors.CONFIG);
      }
      try {
        RequestAttributes attributes = attributes(engine, PolicyRequests.read(request));
        out.print(engine.explain(attributes, PolicyRequests.decider(options.providerDecisions)).render());
        out.flush();
        return 0;
      } catch (PolicyRequests.BadRequest e) {
        return badRequest(err, e.getMessage());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  enum Emit { RBAC, PROGRAM }

  @Command(name = "compile", mixinStandardHelpOptions = true, description = {
      "Show what the policies compile to: --emit program prints the normalised policies (all of them,",
      "or those that apply to --workload, in evaluation order); --emit rbac prints the Envoy RBAC filter",
      "config istiod would push to the workload."})
  static final class Compile implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--emit", required = true, paramLabel = "rbac|program", description = "What to print.")
    private Emit emit;

    @Option(names = "--policies", paramLabel = "PATH", arity = "1..*", required = true,
        description = "Policy files or directories.")
    private List<Path> policies;

    @Option(names = "--workload", paramLabel = "NS[:k=v,...]",
        description = "The workload: its namespace and pod labels, e.g. shop:app=backend,version=v2.")
    private String workload;

    @Mixin
    private MeshOption mesh;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Workload w = null;
      if (workload != null) {
        try {
          w = PolicyRequests.workload(workload);
        } catch (IllegalArgumentException e) {
          err.println("meshguard: --workload: " + e.getMessage());
          err.flush();
          return CliErrors.CONFIG;
        }
      }
      PolicySet set;
      PolicyEngine engine;
      try {
        Compiled compiled = compileAll(policies, mesh);
        set = compiled.set();
        engine = compiled.engine();
      } catch (ConfigException e) {
        return diagnostics(err, e, CliErrors.CONFIG);
      }
      if (emit == Emit.RBAC) {
        return PolicyRbac.print(out, err, set, engine.meshConfig(), w);
      }
      printProgram(out, set, engine, w);
      out.flush();
      return 0;
    }

    private static void printProgram(PrintWriter out, PolicySet set, PolicyEngine engine, Workload w) {
      MeshConfig m = engine.meshConfig();
      out.println("# meshguard policy program, revision " + set.revision());
      out.println("# " + counts(set));
      out.println("# mesh: rootNamespace " + m.rootNamespace() + ", trustDomain " + m.trustDomain()
          + (m.trustDomainAliases().isEmpty() ? "" : ", trustDomainAliases " + m.trustDomainAliases())
          + (m.extensionProviders().isEmpty() ? ""
              : ", extensionProviders " + m.extensionProviders().keySet().stream().sorted().toList()));
      List<AuthorizationPolicy> shown = new ArrayList<>();
      List<RequestAuthentication> authentications = new ArrayList<>();
      if (w == null) {
        shown.addAll(set.authorizationPolicies());
        authentications.addAll(set.requestAuthentications());
      } else {
        List<String> applicable = engine.forWorkload(w).policies();
        Map<String, AuthorizationPolicy> byRef = set.authorizationPolicies().stream()
            .collect(Collectors.toMap(AuthorizationPolicy::ref, p -> p));
        // Evaluation order: CUSTOM, DENY, ALLOW, then AUDIT; dry-run ones are only reported.
        for (var action : List.of(dev.meshguard.policy.model.Action.CUSTOM, dev.meshguard.policy.model.Action.DENY,
            dev.meshguard.policy.model.Action.ALLOW, dev.meshguard.policy.model.Action.AUDIT)) {
          for (String ref : applicable) {
            AuthorizationPolicy p = byRef.get(ref);
            if (p != null && p.action() == action) {
              shown.add(p);
            }
          }
        }
        out.println("# workload " + w.namespace() + " " + new java.util.TreeMap<>(w.labels()) + ": "
            + (shown.isEmpty() ? "no authorization policy applies: every request is allowed"
                : shown.size() + (shown.size() == 1 ? " policy applies" : " policies apply")
                    + ", in evaluation order (CUSTOM, DENY, ALLOW, AUDIT)"));
      }
      for (AuthorizationPolicy p : shown) {
        out.print("---\n# " + p.action() + (p.dryRun() ? " [dry-run]" : "") + " " + p.ref() + " from "
            + p.position() + "\n");
        out.print(yaml(PolicyResources.resource(p)));
      }
      for (RequestAuthentication r : authentications) {
        out.print("---\n# RequestAuthentication " + r.ref() + " from " + r.position() + "\n");
        out.print(yaml(PolicyResources.resource(r)));
      }
    }
  }

  private static final YAMLMapper YAML = new YAMLMapper(YAMLFactory.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
      .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
      .build());

  static String yaml(JsonNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Command(name = "bundle", mixinStandardHelpOptions = true, description = {
      "Write a policy bundle: the normalised policies (one JSON file each), manifest.json (revision,",
      "created_at, compiler_version, every file's SHA-256, the source files' SHA-256) and manifest.sig,",
      "an ECDSA P-256/SHA-256 signature over the manifest. An existing bundle at DIR is replaced.",
      "Exit 0; 1 when the policies are invalid; 2 when the key or DIR cannot be used."})
  static final class Bundle implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH", arity = "1..*", description = "Policy files or directories.")
    private List<Path> paths;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Where to write the bundle.")
    private Path out;

    @Option(names = "--key", paramLabel = "KEY.pem", description = {
        "ECDSA P-256 private key (PKCS#8 or SEC1 PEM) to sign with: meshguard policy keygen makes one.",
        "Without it the bundle is unsigned, and servers that trust a key refuse it."})
    private Path key;

    @Mixin
    private MeshOption mesh;

    @Option(names = "--fips", description = "Run the Bouncy Castle FIPS module in approved-only mode.")
    private boolean fips;

    @Override
    public Integer call() {
      PrintWriter stdout = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      PolicySet set;
      try {
        set = compileAll(paths, mesh).set();
      } catch (ConfigException e) {
        return diagnostics(err, e, INVALID);
      }
      try {
        Crypto crypto = CliCrypto.install(fips);
        PrivateKey privateKey = key == null ? null : PolicyBundle.readPrivateKey(crypto, key);
        PolicyBundle.Manifest manifest = PolicyBundle.write(set, paths, out, privateKey, crypto, Clock.SYSTEM);
        stdout.println("wrote bundle " + out + ": revision " + manifest.revision() + ", " + counts(set) + ", "
            + manifest.files().size() + (manifest.files().size() == 1 ? " file" : " files")
            + (key == null ? "; UNSIGNED (no --key)" : "; signed with " + key));
        stdout.flush();
        return 0;
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      }
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true, description = {
      "Check a policy bundle: the manifest's signature against a trusted key, every file's SHA-256,",
      "no file missing or added, the policies valid and of the manifest's revision.",
      "Exit 0 when it would load; 1 with every reason it is refused."})
  static final class Verify implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "DIR", arity = "1", description = "The bundle directory.")
    private Path dir;

    @Option(names = "--key", paramLabel = "PUB.pem", description = {
        "The trusted public key (PEM, -----BEGIN PUBLIC KEY-----). Without it only the digests are",
        "checked, which proves the bundle consistent, not who made it."})
    private Path key;

    @Option(names = "--fips", description = "Run the Bouncy Castle FIPS module in approved-only mode.")
    private boolean fips;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Crypto crypto;
      PublicKey trusted;
      try {
        crypto = CliCrypto.install(fips);
        trusted = key == null ? null : PolicyBundle.readPublicKey(crypto, key);
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      }
      PolicyBundle.Verified verified;
      try {
        verified = PolicyBundle.verify(dir, trusted, crypto);
      } catch (ConfigException e) {
        for (ConfigError error : e.errors()) {
          err.println(error.render());
        }
        err.println("FAILED: bundle " + dir + " is refused (" + e.errors().size()
            + (e.errors().size() == 1 ? " problem)" : " problems)"));
        err.flush();
        return INVALID;
      }
      PolicyBundle.Manifest m = verified.manifest();
      out.println("OK: bundle " + dir + ", revision " + m.revision() + ", " + counts(verified.policies())
          + ", made " + m.createdAt() + " by meshguard " + m.compilerVersion() + "; "
          + (verified.signed() ? "signature verified with key " + PolicyBundle.keyId(trusted)
              : "signature NOT checked (no --key)"));
      out.flush();
      return 0;
    }
  }

  @Command(name = "keygen", mixinStandardHelpOptions = true, description = {
      "Make an ECDSA P-256 key pair for signing bundles: KEY.pem (PKCS#8, mode 0600) and KEY.pub.pem",
      "beside it (give the public one to the servers). Refuses to overwrite either."})
  static final class Keygen implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--out", paramLabel = "KEY.pem", required = true, description = "The private key file.")
    private Path out;

    @Option(names = "--fips", description = "Run the Bouncy Castle FIPS module in approved-only mode.")
    private boolean fips;

    @Override
    public Integer call() {
      try {
        Crypto crypto = CliCrypto.install(fips);
        KeyPair pair = PolicyBundle.generateKey(crypto);
        PolicyBundle.writeKeyPair(pair, out);
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.println("wrote " + out + " (private, mode 0600) and " + PolicyBundle.publicKeyFile(out)
            + " (public); key id " + PolicyBundle.keyId(pair.getPublic()));
        stdout.flush();
        return 0;
      } catch (ConfigException e) {
        return CliErrors.configError(spec, e);
      }
    }
  }
}

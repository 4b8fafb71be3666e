package dev.meshguard.cli;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.ratelimit.RateLimitConfig;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshguard ratelimit ...}: envoyproxy/ratelimit configs. The server itself comes with its issue. */
@Command(name = "ratelimit", mixinStandardHelpOptions = true,
    description = "Work with rate-limit configs in the envoyproxy/ratelimit YAML format.",
    subcommands = RateLimitCommand.Validate.class)
final class RateLimitCommand implements Runnable {
  @Spec
  private CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = {"Check rate-limit configs offline, as the server would load them.",
          "Exit 0 when valid; 1 with every error (file:line:column, key path, what is wrong)."})
  static final class Validate implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "DIR|FILE", arity = "1..*",
        description = "Config directories (searched recursively for *.yaml, *.yml) or files.")
    private List<Path> paths;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      for (Path path : paths) {
        if (!Files.exists(path)) {
          err.println(path + ": no such file or directory");
          err.flush();
          return 1;
        }
      }
      try {
        RateLimitConfig config = RateLimitConfig.load(paths);
        out.println("OK: " + config.domains().size() + (config.domains().size() == 1 ? " domain: " : " domains: ")
            + String.join(", ", config.domains().stream().sorted().toList()));
        out.flush();
        return 0;
      } catch (ConfigException e) {
        for (ConfigError error : e.errors()) {
          err.println(error.render());
        }
        err.println(e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"));
        err.flush();
        return 1;
      }
    }
  }
}

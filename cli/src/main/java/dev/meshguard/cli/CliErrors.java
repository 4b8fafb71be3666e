package dev.meshguard.cli;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;

/** How commands report errors: every mistake on its own line, and a distinct exit code. */
final class CliErrors {
  /** Exit code for a configuration the command cannot use. */
  static final int CONFIG = 2;

  private CliErrors() {}

  static int configError(CommandSpec spec, ConfigException e) {
    PrintWriter err = spec.commandLine().getErr();
    err.println("meshguard: the configuration has " + e.errors().size()
        + (e.errors().size() == 1 ? " error:" : " errors:"));
    for (ConfigError error : e.errors()) {
      err.println("  " + error.render());
    }
    err.flush();
    return CONFIG;
  }
}

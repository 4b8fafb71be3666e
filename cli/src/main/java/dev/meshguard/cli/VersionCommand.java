package dev.meshguard.cli;

import dev.meshguard.core.Version;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code meshguard version}: the meshguard version and the runtime it runs on. */
@Command(name = "version", mixinStandardHelpOptions = true,
    description = "Print the meshguard version and the Java runtime.")
final class VersionCommand implements Callable<Integer> {
  @Spec
  private CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    out.println("meshguard " + Version.current());
    out.println("java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")");
    out.flush();
    return 0;
  }
}

package dev.meshguard.cli;

import picocli.CommandLine;

/**
 * Entry point of the {@code meshguard} command. Hand-wired: each subcommand builds what it runs
 * with constructors, no container.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // One line per log record instead of the JDK's two-line default.
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    }
    System.exit(commandLine().execute(args));
  }

  /** The command tree, also used by tests to run subcommands in-process. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new MeshguardCommand());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    return commandLine;
  }
}

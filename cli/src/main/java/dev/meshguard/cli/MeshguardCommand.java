package dev.meshguard.cli;

import dev.meshguard.core.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code meshguard}: the one command; every server and tool is a subcommand. */
@Command(
    name = "meshguard",
    mixinStandardHelpOptions = true,
    versionProvider = MeshguardCommand.VersionProvider.class,
    description = {
        "The policy and security engine of a service mesh: Envoy ext_authz, global rate limits, "
            + "a SPIFFE certificate authority and a tamper-evident audit log.",
        ""},
    subcommands = {UpCommand.class, AuditCommand.class, AuthzCommand.class, PolicyCommand.class, RateLimitCommand.class,
        QuotaCommand.class,
        CaCommand.class, VersionCommand.class},
    commandListHeading = "%nCommands:%n",
    footer = {"", "Run 'meshguard COMMAND --help' for the options of one command."})
final class MeshguardCommand implements Runnable {
  @Spec
  private CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing command: try 'meshguard up' or 'meshguard --help'");
  }

  static final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"meshguard " + Version.current()};
    }
  }
}

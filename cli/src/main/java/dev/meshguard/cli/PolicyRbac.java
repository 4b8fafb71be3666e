package dev.meshguard.cli;

import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.Workload;
import java.io.PrintWriter;

/** {@code meshguard policy compile --emit rbac}: the Envoy RBAC filter config for a workload. */
final class PolicyRbac {
  private PolicyRbac() {}

  static int print(PrintWriter out, PrintWriter err, PolicySet set, MeshConfig mesh, Workload workload) {
    err.println("meshguard: --emit rbac is not available in this build (the RBAC emitter has not landed);"
        + " use --emit program");
    err.flush();
    return CliErrors.CONFIG;
  }
}

package dev.meshguard.policy.model;

import java.util.List;

/**
 * {@code rules[].to[].operation}: every set field must match (AND); within a field any value
 * (OR); a field and its {@code not} form are ANDed. Empty lists mean "not set". Ports are kept
 * as written (strings); validation checks they are integers in 0–65535.
 */
public record Operation(
    List<String> hosts,
    List<String> notHosts,
    List<String> ports,
    List<String> notPorts,
    List<String> methods,
    List<String> notMethods,
    List<String> paths,
    List<String> notPaths) {

  public Operation {
    hosts = List.copyOf(hosts);
    notHosts = List.copyOf(notHosts);
    ports = List.copyOf(ports);
    notPorts = List.copyOf(notPorts);
    methods = List.copyOf(methods);
    notMethods = List.copyOf(notMethods);
    paths = List.copyOf(paths);
    notPaths = List.copyOf(notPaths);
  }

  /** True when no field is set (validation rejects such an operation). */
  public boolean isEmpty() {
    return hosts.isEmpty() && notHosts.isEmpty() && ports.isEmpty() && notPorts.isEmpty()
        && methods.isEmpty() && notMethods.isEmpty() && paths.isEmpty() && notPaths.isEmpty();
  }
}

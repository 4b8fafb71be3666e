package dev.meshguard.policy.model;

import java.util.List;

/**
 * {@code rules[].from[].source}: every set field must match (AND); within a field any value
 * (OR); a field and its {@code not} form are ANDed. Empty lists mean "not set".
 */
public record Source(
    List<String> principals,
    List<String> notPrincipals,
    List<String> requestPrincipals,
    List<String> notRequestPrincipals,
    List<String> namespaces,
    List<String> notNamespaces,
    List<String> ipBlocks,
    List<String> notIpBlocks,
    List<String> remoteIpBlocks,
    List<String> notRemoteIpBlocks,
    List<String> serviceAccounts,
    List<String> notServiceAccounts) {

  public Source {
    principals = List.copyOf(principals);
    notPrincipals = List.copyOf(notPrincipals);
    requestPrincipals = List.copyOf(requestPrincipals);
    notRequestPrincipals = List.copyOf(notRequestPrincipals);
    namespaces = List.copyOf(namespaces);
    notNamespaces = List.copyOf(notNamespaces);
    ipBlocks = List.copyOf(ipBlocks);
    notIpBlocks = List.copyOf(notIpBlocks);
    remoteIpBlocks = List.copyOf(remoteIpBlocks);
    notRemoteIpBlocks = List.copyOf(notRemoteIpBlocks);
    serviceAccounts = List.copyOf(serviceAccounts);
    notServiceAccounts = List.copyOf(notServiceAccounts);
  }

  /** True when no field is set (validation rejects such a source). */
  public boolean isEmpty() {
    return principals.isEmpty() && notPrincipals.isEmpty() && requestPrincipals.isEmpty()
        && notRequestPrincipals.isEmpty() && namespaces.isEmpty() && notNamespaces.isEmpty()
        && ipBlocks.isEmpty() && notIpBlocks.isEmpty() && remoteIpBlocks.isEmpty()
        && notRemoteIpBlocks.isEmpty() && serviceAccounts.isEmpty() && notServiceAccounts.isEmpty();
  }
}

package dev.meshguard.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * istiod's trust domain bundle (istio/istio {@code pilot/pkg/security/trustdomain/bundle.go} and
 * {@code util.go}), ported line for line because the emitted principals must be exactly istiod's:
 * a principal {@code td/ns/x/sa/y} (exactly five {@code /}-separated parts, first part not
 * {@code *}) whose trust domain matches one of {mesh trust domain, aliases} (Istio's loose
 * {@code stringMatch}: exact, {@code *}, prefix or suffix patterns on either side) or is
 * {@code cluster.local} becomes one principal per trust domain; anything else is kept as written.
 */
record RbacTrustDomains(List<String> trustDomains) {
  private static final String CLUSTER_LOCAL = "cluster.local";

  RbacTrustDomains {
    trustDomains = List.copyOf(trustDomains);
  }

  static RbacTrustDomains of(MeshConfig mesh) {
    List<String> all = new ArrayList<>();
    all.add(mesh.trustDomain());
    all.addAll(mesh.trustDomainAliases());
    return new RbacTrustDomains(all);
  }

  List<String> replaceTrustDomainAliases(List<String> principals) {
    List<String> out = new ArrayList<>();
    for (String principal : principals) {
      String[] parts = RbacMatchers.splitSlash(principal);
      if (parts.length != 5 || parts[0].equals("*")) {
        out.add(principal);
        continue;
      }
      String td = parts[0];
      if (stringMatch(td, trustDomains) || td.equals(CLUSTER_LOCAL)) {
        out.addAll(replaceTrustDomains(principal, parts, td));
      } else {
        out.add(principal);
      }
    }
    return out;
  }

  private List<String> replaceTrustDomains(String principal, String[] parts, String tdFromPrincipal) {
    List<String> out = new ArrayList<>();
    for (String td : trustDomains) {
      String replaced = suffixMatch(td, tdFromPrincipal)
          ? principal
          : td + "/" + String.join("/", List.of(parts).subList(1, parts.length));
      if (!out.contains(replaced)) {
        out.add(replaced);
      }
    }
    return out;
  }

  private static boolean stringMatch(String a, List<String> list) {
    for (String s : list) {
      if (a.equals(s) || s.equals("*") || prefixMatch(a, s) || prefixMatch(s, a) || suffixMatch(a, s)
          || suffixMatch(s, a)) {
        return true;
      }
    }
    return false;
  }

  private static boolean prefixMatch(String a, String pattern) {
    return pattern.endsWith("*") && a.startsWith(pattern.substring(0, pattern.length() - 1));
  }

  private static boolean suffixMatch(String a, String pattern) {
    return pattern.startsWith("*") && a.endsWith(pattern.substring(1));
  }
}

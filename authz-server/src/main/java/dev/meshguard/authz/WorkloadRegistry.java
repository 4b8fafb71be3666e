package dev.meshguard.authz;

import dev.meshguard.core.config.Config;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.IpAddress;
import dev.meshguard.policy.Workload;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Workloads by pod IP or CIDR: how the server learns which workload a request is addressed to
 * when Envoy sends neither {@code context_extensions} nor an mTLS {@code destination.principal}
 * (istio-authz-semantics §9, option 2). A static file now; Kubernetes pods later. Immutable: a
 * changed file is loaded into a new registry that replaces this one.
 *
 * <pre>{@code
 * workloads:
 *   - namespace: shop
 *     labels: {app: orders, version: v1}
 *     service_account: orders
 *     ips: [10.244.1.7, "10.244.2.0/24", "fd00::/64"]
 * }</pre>
 *
 * <p>An exact IP beats a CIDR; among CIDRs the longest prefix wins, and among equal prefixes
 * the first listed.
 */
final class WorkloadRegistry {

  static final WorkloadRegistry EMPTY = new WorkloadRegistry(Map.of(), List.of(), "");

  /** The file's shape, bound by {@link Config} (errors carry file:line:column and key path). */
  record File(List<Entry> workloads) {
    static final File DEFAULTS = new File(List.of());

    File {
      workloads = List.copyOf(workloads);
    }
  }

  /**
   * One workload.
   *
   * @param namespace its namespace; required
   * @param labels its pod labels
   * @param serviceAccount its service account (for the audit record); may be empty
   * @param ips pod IPs and CIDRs
   */
  record Entry(String namespace, Map<String, String> labels, String serviceAccount, List<String> ips) {
    static final Entry DEFAULTS = new Entry("", Map.of(), "", List.of());

    Entry {
      Objects.requireNonNull(namespace, "namespace");
      labels = Map.copyOf(labels);
      serviceAccount = serviceAccount == null ? "" : serviceAccount;
      ips = List.copyOf(ips);
      if (namespace.isBlank() && !ips.isEmpty()) {
        throw new IllegalArgumentException("namespace is required");
      }
      for (String ip : ips) {
        Cidr.parse(ip); // throws naming the entry
      }
    }
  }

  /** A resolved workload and the service account the registry gives it. */
  record Resolved(Workload workload, String serviceAccount) {}

  /** A network; {@code bytes} masked to {@code prefix} bits. */
  record Cidr(byte[] bytes, int prefix) {
    static Cidr parse(String text) {
      int slash = text.indexOf('/');
      String address = slash < 0 ? text : text.substring(0, slash);
      IpAddress ip = IpAddress.parse(address).orElseThrow(() ->
          new IllegalArgumentException("\"" + text + "\" is not an IP address or CIDR"));
      int max = ip.length() * 8;
      int prefix = max;
      if (slash >= 0) {
        try {
          prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
          prefix = -1;
        }
        if (prefix < 0 || prefix > max) {
          throw new IllegalArgumentException("\"" + text + "\": prefix length must be between 0 and " + max);
        }
      }
      byte[] bytes = ip.bytes();
      mask(bytes, prefix);
      return new Cidr(bytes, prefix);
    }

    boolean contains(IpAddress ip) {
      if (ip.length() != bytes.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if ((bytes[i] & 0xff) != ip.byteAt(i)) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (ip.byteAt(full) & mask) == (bytes[full] & 0xff);
    }

    private static void mask(byte[] bytes, int prefix) {
      for (int i = 0; i < bytes.length; i++) {
        int keep = Math.max(0, Math.min(8, prefix - i * 8));
        bytes[i] &= (byte) ((0xff << (8 - keep)) & 0xff);
      }
    }
  }

  private record Network(Cidr cidr, Resolved workload) {}

  private final Map<IpAddress, Resolved> exact;
  private final List<Network> networks;
  private final String revision;

  private WorkloadRegistry(Map<IpAddress, Resolved> exact, List<Network> networks, String revision) {
    this.exact = exact;
    this.networks = networks;
    this.revision = revision;
  }

  /** Loads {@code file}; every mistake is in the one exception, with its position. */
  static WorkloadRegistry load(Path file, String revision) throws ConfigException {
    return of(Config.load(file, File.DEFAULTS, Map.of(), Map.of()), revision);
  }

  static WorkloadRegistry parse(String yaml, String revision) throws ConfigException {
    return of(Config.parse(yaml, "workloads.yaml", null, File.DEFAULTS, Map.of(), Map.of()), revision);
  }

  private static WorkloadRegistry of(File file, String revision) {
    Map<IpAddress, Resolved> exact = new HashMap<>();
    List<Network> networks = new ArrayList<>();
    for (Entry e : file.workloads()) {
      Resolved resolved = new Resolved(new Workload(e.namespace(), e.labels()), e.serviceAccount());
      for (String ip : e.ips()) {
        if (ip.indexOf('/') < 0) {
          exact.putIfAbsent(IpAddress.parse(ip).orElseThrow(), resolved);
        } else {
          networks.add(new Network(Cidr.parse(ip), resolved));
        }
      }
    }
    // Stable sort: the first listed wins among equal prefixes.
    networks.sort(Comparator.comparingInt((Network n) -> n.cidr().prefix()).reversed());
    return new WorkloadRegistry(Map.copyOf(exact), List.copyOf(networks), revision);
  }

  /** The workload at {@code ip}, or null. */
  Resolved lookup(IpAddress ip) {
    if (ip == null) {
      return null;
    }
    Resolved hit = exact.get(ip);
    if (hit != null) {
      return hit;
    }
    for (Network n : networks) {
      if (n.cidr().contains(ip)) {
        return n.workload();
      }
    }
    return null;
  }

  String revision() {
    return revision;
  }

  int size() {
    return exact.size() + networks.size();
  }
}

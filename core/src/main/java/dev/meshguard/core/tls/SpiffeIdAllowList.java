package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which authenticated peers may call: exact SPIFFE IDs ({@code spiffe://cluster.local/ns/foo/sa/bar})
 * and prefixes ending in {@code /*} ({@code spiffe://cluster.local/ns/istio-system/*} matches every
 * ID below that path, not the path itself). An empty list allows any authenticated peer.
 *
 * <p>Entries are validated once, at construction; matching is a hash lookup plus a scan of the
 * (few) prefixes, with no allocation beyond the peer ID's string form.
 */
public final class SpiffeIdAllowList {

  /** The empty list: any peer that completed the mTLS handshake with a valid SVID. */
  public static final SpiffeIdAllowList ANY_AUTHENTICATED = new SpiffeIdAllowList(List.of(), Set.of(), List.of());

  private static final String WILDCARD_SUFFIX = "/*";

  private final List<String> entries;
  private final Set<String> exact;
  /** Each ends in '/', so {@code .../ns/foo/} never matches {@code .../ns/foobar}. */
  private final List<String> prefixes;

  private SpiffeIdAllowList(List<String> entries, Set<String> exact, List<String> prefixes) {
    this.entries = List.copyOf(entries);
    this.exact = Set.copyOf(exact);
    this.prefixes = List.copyOf(prefixes);
  }

  /**
   * Validates and compiles {@code entries}.
   *
   * @param setting the configuration key of the list, e.g. {@code grpc.tls.allowed_spiffe_ids};
   *     errors name {@code setting[i]}
   * @throws ConfigException with one error per bad entry, each quoting the entry
   */
  public static SpiffeIdAllowList parse(String setting, List<String> entries) throws ConfigException {
    Objects.requireNonNull(setting, "setting");
    List<ConfigError> errors = new ArrayList<>();
    Set<String> exact = new LinkedHashSet<>();
    Set<String> prefixes = new LinkedHashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String entry = Objects.requireNonNull(entries.get(i), () -> setting + " has a null entry");
      String problem = addEntry(entry, exact, prefixes);
      if (problem != null) {
        errors.add(new ConfigError("config", 0, 0, setting + "[" + i + "]", "\"" + entry + "\" " + problem));
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return new SpiffeIdAllowList(entries, exact, List.copyOf(prefixes));
  }

  /** Returns null when the entry was added, else the rule it breaks. */
  private static String addEntry(String entry, Set<String> exact, Set<String> prefixes) {
    // "spiffe://*" would leave "spiffe:/" to parse; report it as the misplaced '*' it is.
    boolean wildcard = entry.endsWith(WILDCARD_SUFFIX) && !entry.equals(SpiffeId.SCHEME_PREFIX + "*");
    String id = wildcard ? entry.substring(0, entry.length() - WILDCARD_SUFFIX.length()) : entry;
    if (id.indexOf('*') >= 0) {
      return "is not a valid entry: '*' is allowed only as the whole last path segment,"
          + " as in spiffe://cluster.local/ns/foo/*";
    }
    SpiffeId parsed;
    try {
      parsed = SpiffeId.parse(id);
    } catch (InvalidSpiffeIdException e) {
      return "is not a valid SPIFFE ID: " + e.rule();
    }
    if (wildcard) {
      prefixes.add(parsed + "/");
      return null;
    }
    if (parsed.isTrustDomainId()) {
      // No workload certificate carries a trust domain's own ID (X509-SVID §2), so this entry
      // could never match: almost certainly a forgotten "/*".
      return "names a trust domain, which no workload has; write " + parsed + "/* to allow every workload in it";
    }
    exact.add(parsed.toString());
    return null;
  }

  /** True when the list is empty, i.e. any authenticated peer is allowed. */
  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** Whether {@code peer} is allowed. */
  public boolean allows(SpiffeId peer) {
    if (entries.isEmpty()) {
      return true;
    }
    String id = peer.toString();
    if (exact.contains(id)) {
      return true;
    }
    for (String prefix : prefixes) {
      if (id.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /** The entries as configured. */
  public List<String> entries() {
    return entries;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SpiffeIdAllowList other && exact.equals(other.exact) && Set.copyOf(prefixes).equals(Set.copyOf(other.prefixes));
  }

  @Override
  public int hashCode() {
    return Objects.hash(exact, Set.copyOf(prefixes));
  }

  @Override
  public String toString() {
    return entries.isEmpty() ? "SpiffeIdAllowList[any authenticated peer]" : "SpiffeIdAllowList" + entries;
  }
}

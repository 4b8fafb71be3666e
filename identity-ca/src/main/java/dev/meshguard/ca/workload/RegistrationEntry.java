package dev.meshguard.ca.workload;

import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A registration entry: the SPIFFE ID a Workload API caller gets when the kernel's credentials
 * for its socket connection (SO_PEERCRED) match every selector. In a config file:
 *
 * <pre>
 * entries:
 *   - spiffe_id: spiffe://example.org/ns/default/sa/web
 *     selectors: {uid: 1001}
 *   - spiffe_id: spiffe://example.org/ns/default/sa/db
 *     selectors: {uid: 999, gid: 999}
 * </pre>
 *
 * <p>Selectors are {@code uid}, {@code gid} (the peer's primary group) and {@code pid}. A pid is
 * the process that connected; pids are reused after a process exits, so prefer uid and gid.
 *
 * @param spiffeId the identity, a SPIFFE ID with a path (a workload, not a trust domain)
 * @param selectors at least one of {@code uid}, {@code gid}, {@code pid}, each a non-negative number
 */
public record RegistrationEntry(String spiffeId, Map<String, Long> selectors) {

  /** The selector names, as in config files and in {@link #parse}. */
  public static final Set<String> SELECTORS = Set.of("uid", "gid", "pid");

  public RegistrationEntry {
    Objects.requireNonNull(spiffeId, "spiffeId");
    Objects.requireNonNull(selectors, "selectors");
    if (selectors.isEmpty()) {
      throw new IllegalArgumentException("an entry needs at least one selector (uid, gid or pid)");
    }
    for (Map.Entry<String, Long> selector : selectors.entrySet()) {
      if (!SELECTORS.contains(selector.getKey())) {
        throw new IllegalArgumentException("unknown selector \"" + selector.getKey() + "\"; use uid, gid or pid");
      }
      if (selector.getValue() == null || selector.getValue() < 0 || selector.getValue() > 0xFFFF_FFFFL) {
        throw new IllegalArgumentException("selector " + selector.getKey() + " must be a number from 0 to "
            + 0xFFFF_FFFFL + ", found " + selector.getValue());
      }
    }
    try {
      if (SpiffeId.parse(spiffeId).isTrustDomainId()) {
        throw new IllegalArgumentException("spiffe_id " + spiffeId + " has no path; a workload's SPIFFE ID has one");
      }
    } catch (InvalidSpiffeIdException e) {
      throw new IllegalArgumentException("spiffe_id \"" + spiffeId + "\" is not a SPIFFE ID: " + e.getMessage(), e);
    }
    selectors = java.util.Collections.unmodifiableMap(new TreeMap<>(selectors));
  }

  /**
   * Parses the one-line form {@code uid:1001[,gid:50][,pid:7]=spiffe://td/path}, for a
   * command-line flag.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static RegistrationEntry parse(String text) {
    Objects.requireNonNull(text, "text");
    int equals = text.indexOf('=');
    if (equals <= 0) {
      throw new IllegalArgumentException("\"" + text + "\" is not SELECTORS=SPIFFE_ID, e.g. uid:1001=spiffe://example.org/web");
    }
    Map<String, Long> selectors = new TreeMap<>();
    for (String part : text.substring(0, equals).split(",")) {
      int colon = part.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("selector \"" + part + "\" is not NAME:NUMBER, e.g. uid:1001");
      }
      String name = part.substring(0, colon).trim();
      long value;
      try {
        value = Long.parseLong(part.substring(colon + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("selector \"" + part + "\" has no number after the colon", e);
      }
      if (selectors.put(name, value) != null) {
        throw new IllegalArgumentException("selector " + name + " is given twice in \"" + text + "\"");
      }
    }
    return new RegistrationEntry(text.substring(equals + 1).trim(), selectors);
  }

  /** The entry's SPIFFE ID (valid by construction). */
  public SpiffeId id() {
    try {
      return SpiffeId.parse(spiffeId);
    } catch (InvalidSpiffeIdException e) {
      throw new IllegalStateException("validated at construction", e);
    }
  }

  /** Whether a caller with these credentials matches every selector. */
  boolean matches(CallerCredentials caller) {
    for (Map.Entry<String, Long> selector : selectors.entrySet()) {
      long actual = switch (selector.getKey()) {
        case "uid" -> caller.uid();
        case "gid" -> caller.gid();
        default -> caller.pid();
      };
      if (actual != selector.getValue()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder();
    selectors.forEach((name, value) -> out.append(out.isEmpty() ? "" : ",").append(name).append(':').append(value));
    return out.append('=').append(spiffeId).toString();
  }
}

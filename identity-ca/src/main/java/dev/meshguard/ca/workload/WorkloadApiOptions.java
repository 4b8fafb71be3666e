package dev.meshguard.ca.workload;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code workload_api} section of the CA's config file (snake_case keys): where the SPIFFE
 * Workload API listens and who gets which identity.
 *
 * @param socket the Unix domain socket path; a stale socket there is replaced, any other file
 *     is an error; null (the default) for no Workload API
 * @param socketMode the socket's permissions in octal; {@value #DEFAULT_SOCKET_MODE} lets every
 *     local user connect, since callers are told apart by the kernel's peer credentials, not by
 *     file permissions (SPIRE's agent socket is world-writable too)
 * @param svidTtl the lifetime of X.509-SVIDs; each is replaced at half its lifetime
 * @param jwtSvidTtl the lifetime of JWT-SVIDs
 * @param refreshInterval how often the agent checks for SVIDs to rotate and bundle changes
 * @param entries the registration entries, in priority order (the first match is a caller's
 *     default SVID)
 */
public record WorkloadApiOptions(
    Path socket,
    @NotBlank String socketMode,
    @Range(min = "1m") Duration svidTtl,
    @Range(min = "10s") Duration jwtSvidTtl,
    @Range(min = "1ms", max = "1m") Duration refreshInterval,
    List<RegistrationEntry> entries) {

  /** A place for the socket, beside SPIRE's {@code /tmp/spire-agent/public/api.sock}; a suggestion, not a default. */
  public static final Path DEFAULT_SOCKET = Path.of("/tmp/meshguard/workload.sock");
  public static final String DEFAULT_SOCKET_MODE = "0666";
  /** SPIRE's {@code default_x509_svid_ttl}. */
  public static final Duration DEFAULT_SVID_TTL = Duration.ofHours(1);
  /** SPIRE's {@code default_jwt_svid_ttl}. */
  public static final Duration DEFAULT_JWT_SVID_TTL = Duration.ofMinutes(5);
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(1);

  /** No socket: the Workload API is off until one is given. */
  public static final WorkloadApiOptions DEFAULTS = new WorkloadApiOptions(null, DEFAULT_SOCKET_MODE,
      DEFAULT_SVID_TTL, DEFAULT_JWT_SVID_TTL, DEFAULT_REFRESH_INTERVAL, List.of());

  public WorkloadApiOptions {
    permissions(Objects.requireNonNull(socketMode, "socketMode"));
    positive("svidTtl", svidTtl);
    positive("jwtSvidTtl", jwtSvidTtl);
    positive("refreshInterval", refreshInterval);
    entries = List.copyOf(entries);
  }

  /** Whether a socket is set, i.e. the Workload API is to be served. */
  public boolean enabled() {
    return socket != null;
  }

  public WorkloadApiOptions withSocket(Path newSocket) {
    return new WorkloadApiOptions(newSocket, socketMode, svidTtl, jwtSvidTtl, refreshInterval, entries);
  }

  public WorkloadApiOptions withEntries(List<RegistrationEntry> newEntries) {
    return new WorkloadApiOptions(socket, socketMode, svidTtl, jwtSvidTtl, refreshInterval, newEntries);
  }

  public WorkloadApiOptions withTtls(Duration newSvidTtl, Duration newJwtSvidTtl) {
    return new WorkloadApiOptions(socket, socketMode, newSvidTtl, newJwtSvidTtl, refreshInterval, entries);
  }

  public WorkloadApiOptions withRefreshInterval(Duration newRefreshInterval) {
    return new WorkloadApiOptions(socket, socketMode, svidTtl, jwtSvidTtl, newRefreshInterval, entries);
  }

  /** {@link #socketMode} as permissions. */
  public Set<PosixFilePermission> socketPermissions() {
    return permissions(socketMode);
  }

  private static Set<PosixFilePermission> permissions(String mode) {
    if (!mode.matches("0?[0-7]{3}")) {
      throw new IllegalArgumentException("socket_mode must be three or four octal digits such as 0666, found \"" + mode + "\"");
    }
    int bits = Integer.parseInt(mode, 8);
    PosixFilePermission[] order = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
    Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < order.length; i++) {
      if ((bits & (1 << i)) != 0) {
        permissions.add(order[i]);
      }
    }
    return permissions;
  }

  private static void positive(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive, found " + value);
    }
  }
}

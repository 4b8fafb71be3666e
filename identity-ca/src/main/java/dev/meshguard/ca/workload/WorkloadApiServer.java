package dev.meshguard.ca.workload;

import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.TrustBundle;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The SPIFFE Workload API (SPIFFE_Workload_API.md, SPIFFE_Workload_Endpoint.md) on a Unix domain
 * socket: grpc-java over netty's native epoll transport, so that each connection's peer
 * credentials (SO_PEERCRED) can be read and matched against the {@link RegistrationEntry
 * registration entries}. It plays SPIRE's agent for the workloads on this host, with the CA in
 * the same process: it keeps one in-memory P-256 key and X.509-SVID per registered identity,
 * renews each at half its lifetime, signs JWT-SVIDs with the active authority's key, and streams
 * every change (a renewed SVID, a root published or dropped by the {@link RootRotation}).
 *
 * <p>A {@link #refresh()} every {@link WorkloadApiOptions#refreshInterval()} (on the given
 * scheduler) ticks the rotation and renews what is due, by the injected {@link Clock}; tests
 * advance a {@code ManualClock} and call {@code refresh()} instead of sleeping.
 *
 * <p>Linux only (epoll). The socket is created, then chmod-ed to
 * {@link WorkloadApiOptions#socketMode()} (the umask would decide otherwise), and removed on close.
 */
public final class WorkloadApiServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(WorkloadApiServer.class.getName());
  /** sun_path of a sockaddr_un holds 108 bytes, the terminating NUL included (unix(7)). */
  static final int MAX_SOCKET_PATH_BYTES = 107;
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);

  private final Path socket;
  private final Server server;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final RootRotation rotation;
  private final SvidAgent agent;
  private final WorkloadApiService service;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final ScheduledFuture<?> refreshTask;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Consumer<TrustBundle> rotationListener;
  private final ThreadLocal<Boolean> inRefresh = new ThreadLocal<>();
  private final List<RegistrationEntry> entries;

  private WorkloadApiServer(Path socket, Server server, EventLoopGroup boss, EventLoopGroup workers,
      RootRotation rotation, SvidAgent agent, WorkloadApiService service, ScheduledExecutorService scheduler,
      boolean ownsScheduler, Duration refreshInterval, List<RegistrationEntry> entries) {
    this.socket = socket;
    this.entries = List.copyOf(entries);
    this.server = server;
    this.boss = boss;
    this.workers = workers;
    this.rotation = rotation;
    this.agent = agent;
    this.service = service;
    this.scheduler = scheduler;
    this.ownsScheduler = ownsScheduler;
    // A tick by another owner of the rotation (the Istio CA server's scheduler) is streamed at
    // once; one from refresh() is streamed by refresh() together with the SVIDs it renews.
    this.rotationListener = bundle -> {
      if (inRefresh.get() == null) {
        service.publish();
      }
    };
    long interval = refreshInterval.toNanos();
    this.refreshTask = scheduler.scheduleWithFixedDelay(this::refreshQuietly, interval, interval, TimeUnit.NANOSECONDS);
  }

  /**
   * Told of every issuance attempt for a Workload API SVID (renewals included), on the refresh
   * thread: for the audit log and metrics, which the Istio CA API records for its own issuances.
   */
  @FunctionalInterface
  public interface IssuanceListener {
    IssuanceListener NONE = (identity, ttl, result) -> true;

    /**
     * @return for an issued SVID, whether it was recorded: one that was not (the audit log refused
     *     its record) is not served, as the Istio CA API returns no certificate it could not
     *     account for, and the next refresh issues again; ignored for a refusal
     */
    boolean onIssue(SpiffeId identity, Duration ttl, IssueResult result);
  }

  /** {@link #start(Crypto, Clock, RootRotation, WorkloadApiOptions, ScheduledExecutorService, IssuanceListener)} on a scheduler of its own, telling no one of issuances. */
  public static WorkloadApiServer start(Crypto crypto, Clock clock, RootRotation rotation, WorkloadApiOptions options)
      throws ConfigException, IOException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
        new DefaultThreadFactory("meshguard-workload-refresh", true));
    try {
      return start(crypto, clock, rotation, options, scheduler, true, IssuanceListener.NONE);
    } catch (ConfigException | IOException | RuntimeException e) {
      scheduler.shutdownNow();
      throw e;
    }
  }

  /**
   * Issues an SVID for every registered identity, binds the socket and starts serving.
   *
   * @param scheduler runs {@link #refresh()} every {@link WorkloadApiOptions#refreshInterval()};
   *     not shut down by {@link #close()}
   * @param listener told of every SVID issuance and refusal
   * @throws ConfigException naming the setting: an entry outside the CA's trust domain, a TTL over
   *     the CA's maximum, a socket path that is too long or holds another kind of file, no epoll
   * @throws IOException when the socket cannot be bound
   */
  public static WorkloadApiServer start(Crypto crypto, Clock clock, RootRotation rotation, WorkloadApiOptions options,
      ScheduledExecutorService scheduler, IssuanceListener listener) throws ConfigException, IOException {
    return start(crypto, clock, rotation, options, scheduler, false, listener);
  }

  private static WorkloadApiServer start(Crypto crypto, Clock clock, RootRotation rotation, WorkloadApiOptions options,
      ScheduledExecutorService scheduler, boolean ownsScheduler, IssuanceListener listener)
      throws ConfigException, IOException {
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(rotation, "rotation");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(scheduler, "scheduler");
    if (options.socket() == null) {
      throw ConfigException.forSetting("workload_api.socket", "required: the Unix socket to serve the Workload API on"
          + " (--workload-socket PATH or workload_api.socket)");
    }
    List<SpiffeId> identities = identities(options, rotation);
    Duration maxTtl = rotation.signer().options().maxTtl();
    if (options.svidTtl().compareTo(maxTtl) > 0 || options.jwtSvidTtl().compareTo(maxTtl) > 0) {
      throw ConfigException.forSetting("workload_api.svid_ttl", "the SVID lifetimes (" + options.svidTtl() + ", JWT "
          + options.jwtSvidTtl() + ") must not exceed the CA's max TTL " + maxTtl);
    }
    if (!Epoll.isAvailable()) {
      throw ConfigException.forSetting("workload_api.socket", "the Workload API needs netty's native epoll transport"
          + " (Linux on x86_64 or aarch64), which is unavailable: " + Epoll.unavailabilityCause());
    }
    Path socket = options.socket().toAbsolutePath();
    prepareSocketPath(socket);

    SvidAgent agent = new SvidAgent(crypto, clock, rotation, options.svidTtl(), identities, listener);
    agent.refresh();
    WorkloadApiService service = new WorkloadApiService(clock, agent, rotation, options.jwtSvidTtl());

    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("meshguard-workload-boss", true), EpollIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("meshguard-workload-worker", true), EpollIoHandler.newFactory());
    Server server;
    try {
      server = NettyServerBuilder
          .forAddress(new DomainSocketAddress(socket.toString()),
              InternalNettyServerCredentials.create(new PeerCredentialsNegotiator()))
          .channelType(EpollServerDomainSocketChannel.class)
          .bossEventLoopGroup(boss)
          .workerEventLoopGroup(workers)
          .addService(ServerInterceptors.intercept(service, new CallerInterceptor(options.entries())))
          .build()
          .start();
    } catch (IOException | RuntimeException e) {
      workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
    try {
      Files.setPosixFilePermissions(socket, options.socketPermissions());
    } catch (IOException | UnsupportedOperationException e) {
      server.shutdownNow();
      workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IOException("cannot set the permissions of the Workload API socket " + socket + ": " + e, e);
    }
    WorkloadApiServer started = new WorkloadApiServer(socket, server, boss, workers, rotation, agent, service,
        scheduler, ownsScheduler, options.refreshInterval(), options.entries());
    rotation.addListener(started.rotationListener);
    LOG.info(() -> "SPIFFE Workload API on unix://" + socket + " (mode " + options.socketMode() + "), "
        + options.entries().size() + " registration entries, SVIDs for " + identities.size() + " identities, TTL "
        + options.svidTtl());
    return started;
  }

  /** The distinct SPIFFE IDs of the entries, each checked to be in the CA's trust domain. */
  private static List<SpiffeId> identities(WorkloadApiOptions options, RootRotation rotation) throws ConfigException {
    List<SpiffeId> identities = new ArrayList<>();
    for (int i = 0; i < options.entries().size(); i++) {
      SpiffeId id = options.entries().get(i).id();
      if (!id.trustDomain().equals(rotation.trustDomain())) {
        throw ConfigException.forSetting("workload_api.entries[" + i + "].spiffe_id", id + " is not in the CA's trust"
            + " domain " + rotation.trustDomain());
      }
      if (!identities.contains(id)) {
        identities.add(id);
      }
    }
    return identities;
  }

  /** Creates the parent directory; removes a stale socket; refuses anything else in the way. */
  private static void prepareSocketPath(Path socket) throws ConfigException, IOException {
    if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
      throw ConfigException.forSetting("workload_api.socket", socket + " is longer than the " + MAX_SOCKET_PATH_BYTES
          + " bytes a Unix socket path may have");
    }
    Files.createDirectories(socket.getParent());
    if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      BasicFileAttributes attributes = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attributes.isOther()) {
        throw ConfigException.forSetting("workload_api.socket", socket + " exists and is not a socket; refusing to"
            + " replace it");
      }
      // A socket left by a process that did not close (SPIRE's agent removes it the same way).
      Files.delete(socket);
    }
  }

  /** The socket path; clients use {@code unix://} followed by it. */
  public Path socket() {
    return socket;
  }

  /** How many registration entries callers are matched against. */
  public int entryCount() {
    return entries.size();
  }

  /** {@code unix:///abs/path}, the form of {@code SPIFFE_ENDPOINT_SOCKET}. */
  public String endpointAddress() {
    return "unix://" + socket;
  }

  /**
   * Ticks the rotation, renews the SVIDs that are due, and streams the changes. Runs on the
   * scheduler; tests call it after advancing their clock.
   */
  public void refresh() {
    inRefresh.set(Boolean.TRUE);
    try {
      // The rotation first, so a renewal due now is signed by the root that is active now; one
      // message for both kinds of change.
      boolean bundleChanged = rotation.tick();
      boolean svidsChanged = agent.refresh();
      if (bundleChanged || svidsChanged) {
        service.publish();
      }
    } finally {
      inRefresh.remove();
    }
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      // A scheduled task that throws is never run again.
      LOG.log(Level.WARNING, "Workload API refresh failed; trying again at the next interval", e);
    }
  }

  /** Stops refreshing, ends the open streams with UNAVAILABLE, stops the server and removes the socket. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    refreshTask.cancel(false);
    rotation.removeListener(rotationListener);
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
    service.closeStreams();
    server.shutdown();
    try {
      if (!server.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      workers.shutdownGracefully(0, SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      boss.shutdownGracefully(0, SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      try {
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        LOG.warning(() -> "cannot remove the Workload API socket " + socket + ": " + e);
      }
    }
  }

  @Override
  public String toString() {
    return "WorkloadApiServer[unix://" + socket + "]";
  }
}

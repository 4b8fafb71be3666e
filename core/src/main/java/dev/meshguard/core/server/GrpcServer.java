package dev.meshguard.core.server;

import dev.meshguard.core.tls.TlsContext;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A gRPC server over grpc-java's {@code NettyServerBuilder} with what every meshguard server
 * needs: native epoll transport when available (NIO otherwise), the standard health service,
 * reflection, bounded messages, keepalive policy, optional mTLS with a SPIFFE ID allow-list, and
 * a graceful shutdown.
 *
 * <p>Health ({@code grpc.health.v1.Health}) reports {@code NOT_SERVING} for the server ({@code ""})
 * and every added service until the owner calls {@link #markServing()} — typically once its
 * first policy or configuration is loaded — and {@code NOT_SERVING} again, for good, as soon as
 * {@link #close(Duration)} starts draining.
 *
 * <p>With TLS the allow-list interceptor runs before every service, health and reflection
 * included: callers that may not call may not probe either.
 */
public final class GrpcServer implements AutoCloseable {

  /** Loopback: a server listens beyond the host only when its configuration says so. */
  public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
  /** grpc-java's own default; Envoy's CheckRequest and RLS requests are far smaller. */
  public static final int DEFAULT_MAX_INBOUND_MESSAGE_SIZE = 4 * 1024 * 1024;
  /** Ping an idle connection after this long, to find peers that vanished without a FIN. */
  public static final Duration DEFAULT_KEEP_ALIVE_TIME = Duration.ofMinutes(1);
  /** Close the connection when a ping is not answered within this. */
  public static final Duration DEFAULT_KEEP_ALIVE_TIMEOUT = Duration.ofSeconds(20);
  /**
   * The most frequent client pings tolerated (grpc's default is 5 minutes; Envoy and grpc clients
   * configured for keepalive commonly ping every 10-30 s and would be sent GOAWAY).
   */
  public static final Duration DEFAULT_PERMIT_KEEP_ALIVE_TIME = Duration.ofSeconds(10);
  /** Close connections idle this long, so load spreads again across replicas. */
  public static final Duration DEFAULT_MAX_CONNECTION_IDLE = Duration.ofMinutes(30);
  /** How long {@link #close()} lets in-flight calls finish. */
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
  /** After the grace, how long to wait for cancelled calls and transports to go. */
  static final Duration FORCED_SHUTDOWN_WAIT = Duration.ofSeconds(5);

  private final Server server;
  private final HealthStatusManager health;
  private final List<String> serviceNames;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final String transport;
  private final AtomicBoolean closing = new AtomicBoolean();

  private GrpcServer(Server server, HealthStatusManager health, List<String> serviceNames, EventLoopGroup boss,
      EventLoopGroup workers, String transport) {
    this.server = server;
    this.health = health;
    this.serviceNames = serviceNames;
    this.boss = boss;
    this.workers = workers;
    this.transport = transport;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The bound address; its port is the real one when port 0 was asked for. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.getListenSockets().getFirst();
  }

  public int port() {
    return address().getPort();
  }

  /** {@code epoll} or {@code nio}. */
  public String transport() {
    return transport;
  }

  /** Reports {@code SERVING} for the server and each service (unless already closing). */
  public void markServing() {
    setStatus(ServingStatus.SERVING);
  }

  /** Reports {@code NOT_SERVING}, e.g. while a dependency is down; {@link #markServing()} undoes it. */
  public void markNotServing() {
    setStatus(ServingStatus.NOT_SERVING);
  }

  private void setStatus(ServingStatus status) {
    // After enterTerminalState the manager ignores updates, so a late markServing cannot
    // resurrect a draining server.
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
    for (String name : serviceNames) {
      health.setStatus(name, status);
    }
  }

  /**
   * Graceful shutdown: report {@code NOT_SERVING}, stop accepting calls and let in-flight ones
   * finish for up to {@code grace}, then cancel whatever is left.
   *
   * @return true when every call finished within the grace
   */
  public boolean close(Duration grace) throws InterruptedException {
    Objects.requireNonNull(grace, "grace");
    if (!closing.compareAndSet(false, true)) {
      server.awaitTermination(grace.toNanos() + FORCED_SHUTDOWN_WAIT.toNanos(), TimeUnit.NANOSECONDS);
      return server.isTerminated();
    }
    try {
      health.enterTerminalState();
      server.shutdown();
      boolean drained = server.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS);
      if (!drained) {
        server.shutdownNow();
        server.awaitTermination(FORCED_SHUTDOWN_WAIT.toNanos(), TimeUnit.NANOSECONDS);
      }
      return drained;
    } finally {
      // grpc does not own event loop groups it was given.
      workers.shutdownGracefully(0, FORCED_SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      boss.shutdownGracefully(0, FORCED_SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** {@link #close(Duration)} with {@link #DEFAULT_SHUTDOWN_GRACE}. */
  @Override
  public void close() {
    try {
      close(DEFAULT_SHUTDOWN_GRACE);
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "GrpcServer[" + address() + ", " + transport + ", services " + serviceNames + "]";
  }

  /** Options of a server; {@link #start()} binds. */
  public static final class Builder {
    private String bindAddress = DEFAULT_BIND_ADDRESS;
    private int port = 0;
    private final List<ServerServiceDefinition> services = new ArrayList<>();
    private final List<ServerInterceptor> interceptors = new ArrayList<>();
    private int maxInboundMessageSize = DEFAULT_MAX_INBOUND_MESSAGE_SIZE;
    private Duration keepAliveTime = DEFAULT_KEEP_ALIVE_TIME;
    private Duration keepAliveTimeout = DEFAULT_KEEP_ALIVE_TIMEOUT;
    private Duration permitKeepAliveTime = DEFAULT_PERMIT_KEEP_ALIVE_TIME;
    private Duration maxConnectionIdle = DEFAULT_MAX_CONNECTION_IDLE;
    private boolean reflection = true;
    private TlsContext tls;

    private Builder() {}

    /** An IP address or host name to bind; {@code 0.0.0.0} for all interfaces. */
    public Builder bindAddress(String bindAddress) {
      this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
      return this;
    }

    /** 0 (the default) picks a free port; read it back with {@link GrpcServer#port()}. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
      }
      this.port = port;
      return this;
    }

    public Builder addService(BindableService service) {
      return addService(service.bindService());
    }

    public Builder addService(ServerServiceDefinition service) {
      services.add(Objects.requireNonNull(service, "service"));
      return this;
    }

    /**
     * Adds an interceptor for every service. Interceptors run in the reverse order they were
     * added; all of them run after the TLS allow-list, and see
     * {@link dev.meshguard.core.tls.PeerAuthorizationInterceptor#PEER_SPIFFE_ID}.
     */
    public Builder intercept(ServerInterceptor interceptor) {
      interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
      return this;
    }

    public Builder maxInboundMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInboundMessageSize must be positive, got " + bytes);
      }
      this.maxInboundMessageSize = bytes;
      return this;
    }

    public Builder keepAliveTime(Duration keepAliveTime) {
      this.keepAliveTime = positive("keepAliveTime", keepAliveTime);
      return this;
    }

    public Builder keepAliveTimeout(Duration keepAliveTimeout) {
      this.keepAliveTimeout = positive("keepAliveTimeout", keepAliveTimeout);
      return this;
    }

    /** Zero allows client pings at any rate. */
    public Builder permitKeepAliveTime(Duration permitKeepAliveTime) {
      Objects.requireNonNull(permitKeepAliveTime, "permitKeepAliveTime");
      if (permitKeepAliveTime.isNegative()) {
        throw new IllegalArgumentException("permitKeepAliveTime must not be negative, got " + permitKeepAliveTime);
      }
      this.permitKeepAliveTime = permitKeepAliveTime;
      return this;
    }

    public Builder maxConnectionIdle(Duration maxConnectionIdle) {
      this.maxConnectionIdle = positive("maxConnectionIdle", maxConnectionIdle);
      return this;
    }

    /** gRPC server reflection ({@code grpc.reflection.v1}), on by default for grpcurl and friends. */
    public Builder reflection(boolean reflection) {
      this.reflection = reflection;
      return this;
    }

    /** Serve TLS (mTLS, with the context's allow-list) instead of plaintext. */
    public Builder tls(TlsContext tls) {
      Objects.requireNonNull(tls, "tls");
      if (!tls.isServer()) {
        throw new IllegalArgumentException("tls must be a server context (TlsContext.forServer)");
      }
      this.tls = tls;
      return this;
    }

    /** Binds and starts serving; health is NOT_SERVING until {@link GrpcServer#markServing()}. */
    public GrpcServer start() throws IOException {
      boolean epoll = Epoll.isAvailable();
      IoHandlerFactory ioHandler = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
      Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
      EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("meshguard-grpc-boss", true), ioHandler);
      EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("meshguard-grpc-worker", true), ioHandler);

      SocketAddress address = new InetSocketAddress(bindAddress, port);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
          .channelType(channelType)
          .bossEventLoopGroup(boss)
          .workerEventLoopGroup(workers)
          .maxInboundMessageSize(maxInboundMessageSize)
          .keepAliveTime(keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS)
          .permitKeepAliveTime(permitKeepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
          .maxConnectionIdle(maxConnectionIdle.toNanos(), TimeUnit.NANOSECONDS);

      HealthStatusManager health = new HealthStatusManager();
      List<String> names = new ArrayList<>();
      for (ServerServiceDefinition service : services) {
        builder.addService(service);
        names.add(service.getServiceDescriptor().getName());
      }
      builder.addService(health.getHealthService());
      if (reflection) {
        builder.addService(ProtoReflectionServiceV1.newInstance());
      }
      for (ServerInterceptor interceptor : interceptors) {
        builder.intercept(interceptor);
      }
      if (tls != null) {
        builder.sslContext(tls.sslContext());
        // Added last, so it runs first.
        builder.intercept(tls.serverInterceptor());
      }

      GrpcServer server = new GrpcServer(builder.build(), health, List.copyOf(names),
          boss, workers, epoll ? "epoll" : "nio");
      server.health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
      for (String name : names) {
        server.health.setStatus(name, ServingStatus.NOT_SERVING);
      }
      try {
        server.server.start();
      } catch (IOException | RuntimeException e) {
        workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        throw e;
      }
      return server;
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, got " + value);
      }
      return value;
    }
  }
}

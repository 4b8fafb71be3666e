package dev.meshguard.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.netty.channel.epoll.Epoll;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The server over real loopback sockets, plaintext (TLS is covered by the mTLS ITs). */
class GrpcServerIT {

  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<GrpcServer> servers = new ArrayList<>();
  private final EchoService echo = new EchoService();
  // Own threads: the common pool has one thread on a 2-CPU machine, and a blocked call would
  // starve the close() running beside it.
  private final ExecutorService executor = Executors.newCachedThreadPool();

  @AfterEach
  void tearDown() throws InterruptedException {
    echo.release();
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (GrpcServer server : servers) {
      server.close(Duration.ZERO);
    }
    executor.shutdownNow();
  }

  private GrpcServer start(GrpcServer.Builder builder) throws Exception {
    GrpcServer server = builder.addService(echo.definition()).start();
    servers.add(server);
    return server;
  }

  private ManagedChannel channel(GrpcServer server) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  private static ServingStatus check(ManagedChannel channel, String service) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  @Test
  void bindsAnEphemeralLoopbackPortWithNativeEpoll() throws Exception {
    GrpcServer server = start(GrpcServer.builder());
    assertThat(server.port()).isPositive();
    assertThat(server.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    // netty-transport-native-epoll is on the class path for Linux x86_64 and aarch64.
    assertThat(server.transport()).isEqualTo(Epoll.isAvailable() ? "epoll" : "nio");
    assertThat(Epoll.isAvailable()).as("epoll on this Linux machine: " + Epoll.unavailabilityCause()).isTrue();
    byte[] reply = ClientCalls.blockingUnaryCall(channel(server), EchoService.ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {4, 2});
    assertThat(reply).containsExactly(4, 2);
  }

  @Test
  void healthIsNotServingUntilMarkedServing() throws Exception {
    GrpcServer server = start(GrpcServer.builder());
    ManagedChannel channel = channel(server);
    assertThat(check(channel, "")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(check(channel, EchoService.SERVICE)).isEqualTo(ServingStatus.NOT_SERVING);

    server.markServing();
    assertThat(check(channel, "")).isEqualTo(ServingStatus.SERVING);
    assertThat(check(channel, EchoService.SERVICE)).isEqualTo(ServingStatus.SERVING);
    assertThatThrownBy(() -> check(channel, "no.such.Service"))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

    server.markNotServing();
    assertThat(check(channel, "")).isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void drainingReportsNotServingAndCancelsWhatOutlivesTheGrace() throws Exception {
    GrpcServer server = start(GrpcServer.builder());
    server.markServing();
    BlockingQueue<Object> watched = new LinkedBlockingQueue<>();
    HealthGrpc.newStub(channel(server)).watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
      @Override
      public void onNext(HealthCheckResponse value) {
        watched.add(value.getStatus());
      }

      @Override
      public void onError(Throwable t) {
        watched.add(Status.fromThrowable(t).getCode());
      }

      @Override
      public void onCompleted() {
        watched.add("completed");
      }
    });
    assertThat(watched.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.SERVING);

    // The watch is an in-flight call that never ends by itself: close must wait the grace, then cancel.
    long start = System.nanoTime();
    CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
      try {
        return server.close(Duration.ofMillis(500));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, executor);
    assertThat(watched.poll(10, TimeUnit.SECONDS)).as("health while draining").isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(drained.get(20, TimeUnit.SECONDS)).isFalse();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
    // shutdownNow after the grace resets the stream; the client sees it cancelled, not completed.
    assertThat(watched.poll(10, TimeUnit.SECONDS)).isIn(Status.Code.CANCELLED, Status.Code.UNAVAILABLE);
    server.markServing(); // ignored after the terminal state; must not throw
  }

  @Test
  void drainLetsInFlightCallsFinishAndRefusesNewConnections() throws Exception {
    GrpcServer server = start(GrpcServer.builder());
    server.markServing();
    ManagedChannel channel = channel(server);
    CompletableFuture<byte[]> slow = CompletableFuture.supplyAsync(() -> ClientCalls.blockingUnaryCall(channel,
        EchoService.SLOW, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {7}), executor);
    assertThat(echo.slowStarted.await(10, TimeUnit.SECONDS)).isTrue();

    CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
      try {
        return server.close(Duration.ofSeconds(20));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, executor);
    // While draining, the listener is closed: a new connection cannot even reach the server.
    awaitTrue(() -> {
      try {
        check(channel(server), "");
        return false;
      } catch (StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.UNAVAILABLE;
      }
    });
    assertThat(drained).isNotDone();

    echo.release();
    assertThat(slow.get(10, TimeUnit.SECONDS)).containsExactly(7);
    assertThat(drained.get(10, TimeUnit.SECONDS)).as("drained within the grace").isTrue();
  }

  @Test
  void reflectionListsTheServices() throws Exception {
    GrpcServer server = start(GrpcServer.builder());
    assertThat(listServices(channel(server))).contains("grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection");
  }

  @Test
  void reflectionCanBeTurnedOff() throws Exception {
    GrpcServer server = start(GrpcServer.builder().reflection(false));
    assertThatThrownBy(() -> listServices(channel(server)))
        .hasCauseInstanceOf(StatusRuntimeException.class)
        .rootCause().hasMessageStartingWith("UNIMPLEMENTED");
  }

  @Test
  void messagesAboveTheLimitAreRefused() throws Exception {
    GrpcServer server = start(GrpcServer.builder().maxInboundMessageSize(1024));
    ManagedChannel channel = channel(server);
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
    assertThat(ClientCalls.blockingUnaryCall(channel, EchoService.ECHO, options, new byte[1024])).hasSize(1024);
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, EchoService.ECHO, options, new byte[1025]))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
  }

  @Test
  void idleConnectionsAreClosedByTheServer() throws Exception {
    // The idle timer also runs from a connection's start until its first call, which a cold JVM on
    // a loaded machine took seconds to send (the server's GOAWAY then left the channel IDLE while the
    // call ran): a call on another server first loads and compiles what the measured one needs.
    check(channel(start(GrpcServer.builder())), "");
    GrpcServer server = start(GrpcServer.builder().maxConnectionIdle(Duration.ofSeconds(2)));
    ManagedChannel channel = channel(server);
    // A call in flight keeps the connection busy, so READY is seen without racing the idle timer (a
    // test thread descheduled after a quick call found the channel IDLE).
    CompletableFuture<byte[]> slow = CompletableFuture.supplyAsync(() -> ClientCalls.blockingUnaryCall(channel,
        EchoService.SLOW, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {1}), executor);
    assertThat(echo.slowStarted.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(channel.getState(false)).isEqualTo(ConnectivityState.READY);
    echo.release();
    assertThat(slow.get(10, TimeUnit.SECONDS)).containsExactly(1);
    // The server's GOAWAY after 2 s without calls sends the channel back to IDLE.
    awaitTrue(() -> channel.getState(false) == ConnectivityState.IDLE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"keepAliveTime", "keepAliveTimeout", "maxConnectionIdle"})
  void durationsMustBePositive(String option) {
    GrpcServer.Builder builder = GrpcServer.builder();
    Runnable set = switch (option) {
      case "keepAliveTime" -> () -> builder.keepAliveTime(Duration.ZERO);
      case "keepAliveTimeout" -> () -> builder.keepAliveTimeout(Duration.ofSeconds(-1));
      default -> () -> builder.maxConnectionIdle(Duration.ZERO);
    };
    assertThatThrownBy(set::run).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(option + " must be positive");
  }

  @Test
  void defaultsAreTheNamedConstants() {
    assertThat(GrpcServer.DEFAULT_BIND_ADDRESS).isEqualTo("127.0.0.1");
    assertThatThrownBy(() -> GrpcServer.builder().port(65536)).hasMessage("port must be in [0, 65535], got 65536");
    assertThatThrownBy(() -> GrpcServer.builder().maxInboundMessageSize(0))
        .hasMessage("maxInboundMessageSize must be positive, got 0");
  }

  private static List<String> listServices(ManagedChannel channel) throws Exception {
    CompletableFuture<List<String>> result = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse response) {
            result.complete(response.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList());
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    return result.get(10, TimeUnit.SECONDS);
  }

  /** A bounded wait for something that happens on another thread; no fixed sleeps. */
  private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10 s");
      }
      Thread.sleep(20);
    }
  }
}

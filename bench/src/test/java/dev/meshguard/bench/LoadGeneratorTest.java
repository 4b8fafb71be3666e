package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.server.GrpcServer;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The load generator against a real gRPC server that holds every answer for its first 300 ms:
 * open loop charges each request from its own intended send time (no coordinated omission), and
 * requests due while too many are in flight are counted, not waited for.
 */
class LoadGeneratorTest {
  private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
  private static final int RATE = 1000;
  private static final Duration RUN = Duration.ofMillis(600);

  private final ScheduledExecutorService releaser = Executors.newSingleThreadScheduledExecutor();
  private GrpcServer server;
  private ManagedChannel channel;
  private LoadGenerator load;

  /** Answers OK; the calls of the first {@link #STALL_NANOS} after the first one are held until then. */
  private final class StallingAuthorization extends AuthorizationGrpc.AuthorizationImplBase {
    private final List<StreamObserver<CheckResponse>> held = new ArrayList<>();
    private boolean armed;
    private boolean stalling;
    private boolean released;

    /** From now on the first call starts the stall; calls before are answered at once (warm-up). */
    synchronized void arm() {
      armed = true;
    }

    @Override
    public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
      synchronized (this) {
        if (armed && !released) {
          if (!stalling) {
            stalling = true;
            releaser.schedule(this::release, STALL_NANOS, TimeUnit.NANOSECONDS);
          }
          held.add(observer);
          return;
        }
      }
      answer(observer);
    }

    private void release() {
      List<StreamObserver<CheckResponse>> toAnswer;
      synchronized (this) {
        released = true;
        toAnswer = List.copyOf(held);
        held.clear();
      }
      toAnswer.forEach(StallingAuthorization::answer);
    }

    private static void answer(StreamObserver<CheckResponse> observer) {
      observer.onNext(CheckResponse.getDefaultInstance());
      observer.onCompleted();
    }
  }

  @BeforeEach
  void start() throws Exception {
    StallingAuthorization service = new StallingAuthorization();
    server = GrpcServer.builder().addService(service).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().directExecutor().build();
    // Connected before the run, so the stall starts with the first request, not after a handshake.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (channel.getState(true) != ConnectivityState.READY) {
      assertThat(System.nanoTime()).as("the channel connects").isLessThan(deadline);
      Thread.sleep(5);
    }
    load = new LoadGenerator(List.of(channel), AuthzLoadTargets.requests());
    // Warmed up (classes loaded, the call path compiled) before the stall: a cold JVM on a busy
    // machine answered so late that calls passed their 5 s deadline.
    load.closedLoop(4, Duration.ofMillis(300));
    service.arm();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
    releaser.shutdownNow();
  }

  @Test
  void openLoopChargesEveryRequestSentDuringAStallFromItsIntendedSendTime() throws Exception {
    LoadGenerator.OpenLoopResult result = load.openLoop(RATE, RUN, 10_000);

    assertThat(result.answered()).isEqualTo(600);
    assertThat(result.errors()).isZero();
    Histogram latency = result.latency();
    assertThat(latency.getTotalCount()).isEqualTo(600);
    // Request i (due at i ms) waits until about 300 ms: those due in the first 200 ms wait 100 ms or
    // more (more of them on a slow machine). A generator that waited for answers before sending
    // would have recorded one slow call.
    long slow = latency.getCountBetweenValues(TimeUnit.MILLISECONDS.toNanos(100), Long.MAX_VALUE >> 1);
    assertThat(slow).isGreaterThanOrEqualTo(170L);
    assertThat(latency.getMaxValue()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(280));
    assertThat(result.achievedRate()).isPositive().isLessThan(1.05 * RATE);
  }

  @Test
  void requestsDueWhileTheOutstandingBoundIsReachedAreCountedAsUnsent() throws Exception {
    LoadGenerator.OpenLoopResult result = load.openLoop(RATE, RUN, 100);

    // About 300 requests fall due during the stall; 100 may be in flight, the rest are not sent
    // (more on a slow machine, where the stall lasts longer than its 300 ms).
    assertThat(result.unsent()).isBetween(150L, 500L);
    assertThat(result.errors()).isEqualTo(result.unsent());
    assertThat(result.answered() + result.unsent()).isEqualTo(600);
  }

  @Test
  void closedLoopKeepsItsCallsInFlightForTheWindow() throws Exception {
    LoadGenerator.ClosedLoopResult result = load.closedLoop(8, Duration.ofSeconds(3));

    // The first 8 calls are held for 300 ms, then answered one after another for the rest. The
    // window is well past the stall: a busy machine starts the stall late (its first call arrives
    // late) and releases late, and a 500 ms window saw no answer at all.
    assertThat(result.failed()).isZero();
    assertThat(result.answered()).isGreaterThan(8);
    assertThat(result.nanos()).isEqualTo(TimeUnit.SECONDS.toNanos(3));
  }
}

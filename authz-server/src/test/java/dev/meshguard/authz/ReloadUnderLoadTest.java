package dev.meshguard.authz;

import static dev.meshguard.authz.AuthzFixture.FRONTEND;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.Await;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Policy reload while Envoy-shaped checks stream in; health transitions; refused reloads. */
class ReloadUnderLoadTest {

  @TempDir
  Path dir;

  /** Version B: GET /orders is denied, DELETE allowed; everything else as in version A. */
  static final String V2 = AuthzFixture.POLICIES.replace("methods: [\"GET\", \"DELETE\"]", "methods: [\"DELETE\"]");

  @Test
  void swapping200TimesUnderLoadNeverFailsAndEveryDecisionIsOldOrNew() throws Exception {
    // The requests and what each version decides for them (status code).
    List<CheckRequest> requests = List.of(
        EnvoyCheckRequests.http("GET", "/orders/1").principal(FRONTEND).workload("shop", "app=orders").build(),
        EnvoyCheckRequests.http("DELETE", "/orders/1").principal(FRONTEND).workload("shop", "app=orders").build(),
        EnvoyCheckRequests.http("GET", "/admin").principal(FRONTEND).workload("shop", "app=orders").build());
    try (AuthzFixture f = AuthzFixture.start(dir, AuthzOptions.DEFAULTS)) {
      int[] v1 = codes(f.stub, requests);
      f.rewrite(V2);
      assertThat(f.server.reloadIfChanged()).isTrue();
      int[] v2 = codes(f.stub, requests);
      assertThat(v1).containsExactly(0, 0, 7);
      assertThat(v2).as("the versions differ on the first request").containsExactly(7, 0, 7);
      f.rewrite(AuthzFixture.POLICIES);
      assertThat(f.server.reloadIfChanged()).isTrue();

      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger sent = new AtomicInteger();
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      Thread[] clients = new Thread[2];
      for (int c = 0; c < clients.length; c++) {
        clients[c] = Thread.ofPlatform().start(() -> {
          AuthorizationGrpc.AuthorizationBlockingStub stub = AuthorizationGrpc.newBlockingStub(f.channel);
          int i = 0;
          while (!stop.get()) {
            int which = i++ % requests.size();
            try {
              CheckResponse r = stub.withDeadlineAfter(10, TimeUnit.SECONDS).check(requests.get(which));
              int code = r.getStatus().getCode();
              if (code != v1[which] && code != v2[which]) {
                problems.add("request " + which + " got " + code + ": " + r.getStatus().getMessage());
              }
              if (!r.getDynamicMetadata().containsFields("decision_id")) {
                problems.add("no decision_id");
              }
            } catch (RuntimeException e) {
              problems.add("request " + which + " failed: " + e);
            }
            sent.incrementAndGet();
          }
        });
      }
      for (int swap = 0; swap < 200; swap++) {
        f.rewrite(swap % 2 == 0 ? V2 : AuthzFixture.POLICIES);
        assertThat(f.server.reloadIfChanged()).as("swap %d", swap).isTrue();
        // At least one check between two swaps, however the threads are scheduled on a busy machine.
        int sentBefore = sent.get();
        Await.until(Duration.ofSeconds(10), () -> sent.get() > sentBefore, () -> "a check after the swap");
      }
      stop.set(true);
      for (Thread t : clients) {
        t.join(30_000);
      }
      assertThat(problems).isEmpty();
      assertThat(sent.get()).as("checks were in flight during the swaps").isGreaterThan(200);
      assertThat(f.counter("meshguard.authz.policy.reloads")).isEqualTo(202);
      assertThat(f.counter("meshguard.authz.internal.errors")).isZero();
    }
  }

  private static int[] codes(AuthorizationGrpc.AuthorizationBlockingStub stub, List<CheckRequest> requests) {
    return requests.stream().mapToInt(r -> stub.check(r).getStatus().getCode()).toArray();
  }

  @Test
  void healthIsNotServingUntilPoliciesLoadAndABadReloadKeepsTheLastGood() throws Exception {
    String broken = AuthzFixture.POLICIES.replace("action: DENY", "action: NOPE");
    try (AuthzFixture f = AuthzFixture.start(dir, AuthzOptions.builder().startWithoutPolicies(true).build(), broken,
        null)) {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(f.channel);
      HealthCheckRequest service = HealthCheckRequest.newBuilder()
          .setService("envoy.service.auth.v3.Authorization").build();
      assertThat(health.check(service).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(ServingStatus.NOT_SERVING);
      CheckResponse early = f.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
          .workload("shop", "app=orders").build());
      assertThat(early.getStatus().getCode()).isEqualTo(7);
      assertThat(early.getStatus().getMessage()).isEqualTo("no policies loaded yet");
      assertThat(f.server.status().ready()).isFalse();
      assertThat(f.server.status().lastError()).contains("shop.yaml:").contains("NOPE");

      f.rewrite(AuthzFixture.POLICIES);
      assertThat(f.server.reloadIfChanged()).isTrue();
      assertThat(health.check(service).getStatus()).isEqualTo(ServingStatus.SERVING);
      String revision = f.server.revision();
      assertThat(f.server.status().revision()).isEqualTo(revision);
      assertThat(f.server.status().loadedAt()).isNotNull();
      assertThat(f.server.status().lastError()).isNull();

      f.rewrite(broken);
      assertThat(f.server.reloadIfChanged()).isFalse();
      assertThat(f.server.revision()).isEqualTo(revision);
      assertThat(f.server.status().lastError()).contains("keeps serving").contains("NOPE");
      assertThat(f.counter("meshguard.authz.policy.reload.failures")).isEqualTo(2);
      assertThat(health.check(service).getStatus()).as("a refused reload does not stop serving")
          .isEqualTo(ServingStatus.SERVING);
      assertThat(f.stub.check(EnvoyCheckRequests.http("GET", "/orders").principal(FRONTEND)
          .workload("shop", "app=orders").build()).getStatus().getCode()).isZero();
    }
  }

  @Test
  void withoutStartWithoutPoliciesABrokenPolicyStopsTheStart() throws Exception {
    String broken = AuthzFixture.POLICIES.replace("action: DENY", "action: NOPE");
    Path policies = Files.createDirectories(dir.resolve("p"));
    Files.writeString(policies.resolve("x.yaml"), broken);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> AuthzServer.start(
            AuthzOptions.builder().policies(List.of(policies)).port(0).httpPort(AuthzOptions.HTTP_DISABLED).build(), AuthzFixture.crypto(),
            dev.meshguard.core.time.Clock.SYSTEM, java.util.concurrent.Executors.newSingleThreadScheduledExecutor(),
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), DecisionAudit.NONE))
        .isInstanceOf(dev.meshguard.core.config.ConfigException.class).hasMessageContaining("x.yaml:");
  }
}

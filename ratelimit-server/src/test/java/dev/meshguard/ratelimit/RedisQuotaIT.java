package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisExtension;
import dev.meshguard.testkit.redis.RedisServerProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenant quotas on a real Redis shared by several meshguard replicas: hard quotas hold under
 * concurrent load, quota definitions are shared, and usage survives a meshguard restart and (with
 * AOF) a Redis restart.
 */
class RedisQuotaIT {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone().flushingBeforeEach();

  static final String ACME = """
      apiVersion: meshguard.dev/v1
      kind: TenantQuota
      metadata: {name: acme}
      spec:
        limits:
          - {name: monthly, period: month, amount: 500}
          - {name: rolling, window: 10m, algorithm: sliding_window, amount: 100000, enforcement: soft}
      """;

  final ManualClock clock = new ManualClock(Instant.parse("2026-05-20T12:00:00Z"));

  /** One meshguard replica: its own connection, quota store and engine. */
  record Replica(RedisStore store, RedisQuotaStore quotas, RateLimitEngine engine) implements AutoCloseable {
    @Override
    public void close() {
      store.close();
    }
  }

  Replica replica(String uri) throws Exception {
    RedisStore store = RedisStore.connect(StoreUri.parse(uri), RedisConformanceIT.TEST_OPTIONS);
    RedisQuotaStore quotas = new RedisQuotaStore(store);
    quotas.refresh();
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", "domain: d\ndescriptors: []\n");
    RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS,
        new SimpleMeterRegistry(), quotas::snapshot, QuotaOptions.DEFAULTS);
    return new Replica(store, quotas, engine);
  }

  static RateLimitDecision request(Replica replica, String tenant) {
    return replica.engine().decide("d", List.of(Descriptor.of("tenant", tenant)), 1);
  }

  @Test
  void severalReplicasUnderLoadNeverAdmitMoreThanAHardQuota() throws Exception {
    int replicas = 3;
    int threads = 4;
    int requests = 80; // 960 requests for a quota of 500
    List<Replica> all = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(replicas * threads);
    try {
      for (int i = 0; i < replicas; i++) {
        all.add(replica(redis.uri()));
      }
      all.getFirst().quotas().importYaml(TenantQuotaFiles.parse("acme.yaml", ACME));
      all.forEach(r -> r.quotas().refresh());
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Long>> results = new ArrayList<>();
      for (Replica replica : all) {
        for (int t = 0; t < threads; t++) {
          Callable<Long> worker = () -> {
            go.await();
            long admitted = 0;
            for (int i = 0; i < requests; i++) {
              RateLimitDecision decision = request(replica, "acme");
              assertThat(decision.storeFailed()).isFalse();
              if (decision.overallCode() == Code.OK) {
                admitted++;
              }
            }
            return admitted;
          };
          results.add(pool.submit(worker));
        }
      }
      go.countDown();
      long admitted = 0;
      for (Future<Long> result : results) {
        admitted += result.get();
      }
      assertThat(admitted).isEqualTo(500);
      QuotaOutcome usage = all.get(1).engine().quotaUsage("acme");
      assertThat(usage.limits()).extracting(QuotaOutcome.LimitUsage::used).containsExactly(500L, 500L);
    } finally {
      pool.shutdownNow();
      all.forEach(Replica::close);
    }
  }

  @Test
  void usageSurvivesAMeshguardRestart() throws Exception {
    try (Replica first = replica(redis.uri())) {
      first.quotas().importYaml(TenantQuotaFiles.parse("acme.yaml", ACME));
      for (int i = 0; i < 7; i++) {
        request(first, "acme");
      }
    }
    try (Replica second = replica(redis.uri())) {
      assertThat(second.quotas().snapshot().get("acme")).as("the quota too").isNotNull();
      assertThat(second.engine().quotaUsage("acme").limits().getFirst().used()).isEqualTo(7);
    }
  }

  @Test
  void usageSurvivesARedisRestartWithAppendOnlyFile() throws Exception {
    assertThat(usageAfterRedisRestart(List.of("--appendonly", "yes", "--appendfsync", "everysec"))).isEqualTo(7);
  }

  @Test
  void withoutPersistenceARedisRestartLosesUsage() throws Exception {
    assertThat(usageAfterRedisRestart(List.of())).as("the control: nothing kept without AOF").isEqualTo(-1);
  }

  /** The usage of acme's monthly limit after 7 requests and a Redis restart; -1 when the quota is gone. */
  private long usageAfterRedisRestart(List<String> persistence) throws Exception {
    try (RedisServerProcess server = RedisServerProcess.start(persistence)) {
      try (Replica before = replica(server.uri())) {
        before.quotas().importYaml(TenantQuotaFiles.parse("acme.yaml", ACME));
        for (int i = 0; i < 7; i++) {
          request(before, "acme");
        }
      }
      server.restart(); // SIGTERM: Redis writes and fsyncs its AOF on the way down
      try (Replica after = replica(server.uri())) {
        if (after.quotas().snapshot().get("acme") == null) {
          return -1;
        }
        return after.engine().quotaUsage("acme").limits().getFirst().used();
      }
    }
  }

  @Test
  void quotasAreSharedAndYamlManagedOnesAreProtected() throws Exception {
    try (Replica a = replica(redis.uri()); Replica b = replica(redis.uri())) {
      TenantQuota api = new TenantQuota("globex", java.time.ZoneOffset.UTC, List.of(new QuotaLimit("daily",
          new QuotaPeriod.Calendar(CalendarUnit.DAY), 10, QuotaLimit.Enforcement.HARD)), false,
          TenantQuota.ManagedBy.API);
      assertThat(a.quotas().put(api, false)).isNull();
      QuotaStore.ImportResult imported = a.quotas().importYaml(TenantQuotaFiles.parse("acme.yaml", ACME));
      assertThat(imported.created()).containsExactly("acme");
      b.quotas().refresh();
      assertThat(b.quotas().snapshot().byTenant().keySet()).containsExactly("acme", "globex");
      assertThat(b.quotas().snapshot().get("acme").managedBy()).isEqualTo(TenantQuota.ManagedBy.YAML);

      TenantQuota edit = b.quotas().snapshot().get("acme").withManagedBy(TenantQuota.ManagedBy.API);
      assertThatThrownBy(() -> b.quotas().put(edit, false)).isInstanceOf(QuotaStore.QuotaManagedException.class)
          .hasMessageContaining("'acme' is managed by YAML");
      assertThatThrownBy(() -> b.quotas().delete("acme", false))
          .isInstanceOf(QuotaStore.QuotaManagedException.class);
      assertThat(b.quotas().put(edit, true).managedBy()).isEqualTo(TenantQuota.ManagedBy.YAML);

      // The next import puts the file's quota back, and removes YAML tenants no longer declared;
      // API-managed tenants stay.
      QuotaStore.ImportResult again = a.quotas().importYaml(TenantQuotaFiles.parse("acme.yaml", ACME));
      assertThat(again.replaced()).containsExactly("acme");
      assertThat(a.quotas().importYaml(List.of()).deleted()).containsExactly("acme");
      b.quotas().refresh();
      assertThat(b.quotas().snapshot().byTenant().keySet()).containsExactly("globex");
      assertThat(b.quotas().delete("globex", false)).isEqualTo(api);
      a.quotas().refresh();
      assertThat(a.quotas().snapshot().isEmpty()).isTrue();
    }
  }
}

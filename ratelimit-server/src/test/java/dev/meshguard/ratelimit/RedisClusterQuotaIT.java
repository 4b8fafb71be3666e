package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisClusterExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenant quotas on a real Redis Cluster (three masters): the quota definitions and each tenant's
 * counters live in one slot each, while the request's descriptor counters are on other slots and
 * nodes; one request is still one parallel round of script calls.
 */
class RedisClusterQuotaIT {

  @RegisterExtension
  static final RedisClusterExtension cluster = RedisClusterExtension.withTopology(3, 0);

  @Test
  void quotasAndUsageWorkAcrossSlots() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-07-01T00:00:00Z"));
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", """
        domain: d
        descriptors:
          - key: path
            rate_limit: {unit: minute, requests_per_unit: 1000}
        """);
    try (RedisStore store = RedisStore.connect(RedisClusterConformanceIT.clusterUri(cluster),
        RedisConformanceIT.TEST_OPTIONS)) {
      RedisQuotaStore quotas = new RedisQuotaStore(store);
      List<TenantQuota> declared = new ArrayList<>();
      for (String tenant : List.of("acme", "globex", "initech", "hooli")) {
        declared.addAll(TenantQuotaFiles.parse(tenant + ".yaml", """
            apiVersion: meshguard.dev/v1
            kind: TenantQuota
            metadata: {name: %s}
            spec:
              limits:
                - {name: monthly, period: month, amount: 3}
                - {name: rolling, window: 1m, algorithm: sliding_window, amount: 100}
            """.formatted(tenant)));
      }
      assertThat(quotas.importYaml(declared).created()).hasSize(4);
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS,
          new SimpleMeterRegistry(), quotas::snapshot, QuotaOptions.DEFAULTS);
      for (String tenant : List.of("acme", "globex", "initech", "hooli")) {
        int admitted = 0;
        for (int i = 0; i < 5; i++) {
          RateLimitDecision decision = engine.decide("d", List.of(Descriptor.of("path", "/" + tenant + "/" + i),
              Descriptor.of("tenant", tenant)), 1);
          assertThat(decision.storeFailed()).isFalse();
          assertThat(decision.statuses().getFirst().limitRemaining()).isEqualTo(999);
          if (decision.overallCode() == Code.OK) {
            admitted++;
          }
        }
        assertThat(admitted).as(tenant).isEqualTo(3);
        assertThat(engine.quotaUsage(tenant).limits()).extracting(QuotaOutcome.LimitUsage::used)
            .containsExactly(3L, 3L);
      }
      assertThat(engine.resetQuotaUsage("acme")).isTrue();
      assertThat(engine.quotaUsage("acme").limits().getFirst().used()).isZero();
    }
  }
}

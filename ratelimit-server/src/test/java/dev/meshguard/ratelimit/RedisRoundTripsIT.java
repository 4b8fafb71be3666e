package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.ClusterNode;
import dev.meshguard.testkit.redis.RedisClusterExtension;
import dev.meshguard.testkit.redis.RedisExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.lettuce.core.cluster.SlotHash;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Round trips as the Redis servers count them ({@code INFO commandstats}): one script call per
 * request on a single server, whatever the number of descriptors; on a cluster one per slot that
 * the request's descriptors hash to (sent together), and nothing else. A tenant quota adds no
 * call on a single server (one script does both) and one call, sent with the others, on a cluster.
 */
class RedisRoundTripsIT {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone();

  @RegisterExtension
  static final RedisClusterExtension cluster = RedisClusterExtension.threeMastersThreeReplicas();

  static final String CONFIG = """
      domain: d
      descriptors:
        - key: fixed
          rate_limit: {unit: second, requests_per_unit: 1000}
        - key: sliding
          rate_limit: {unit: minute, requests_per_unit: 1000, algorithm: sliding_window}
        - key: bucket
          rate_limit: {unit: second, requests_per_unit: 1000, algorithm: token_bucket}
      """;

  static final int REQUESTS = 200;

  /** A request of {@code n} descriptors, the three algorithms in turn, distinct values. */
  static List<Descriptor> request(int n, int salt) {
    String[] keys = {"fixed", "sliding", "bucket"};
    List<Descriptor> descriptors = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      descriptors.add(Descriptor.of(keys[i % 3], "v" + i + "-" + salt % 7));
    }
    return descriptors;
  }

  @Test
  void oneScriptCallPerRequestOnOneServerWhateverTheDescriptors() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    try (RedisStore store = RedisStore.connect(StoreUri.parse(redis.uri()), RedisConformanceIT.TEST_OPTIONS)) {
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
      engine.decide("d", request(1, 0), 1); // loads the script (NOSCRIPT, then EVAL)
      for (int descriptors : new int[] {1, 3, 8}) {
        long before = CommandStats.scriptCalls(redis.redisUri());
        for (int r = 0; r < REQUESTS; r++) {
          RateLimitDecision decision = engine.decide("d", request(descriptors, r), 1);
          assertThat(decision.storeFailed()).isFalse();
          assertThat(decision.overallCode()).isEqualTo(Code.OK);
        }
        long calls = CommandStats.scriptCalls(redis.redisUri()) - before;
        System.out.printf("standalone: %d requests of %d descriptors -> %d script calls (%.2f per request)%n",
            REQUESTS, descriptors, calls, (double) calls / REQUESTS);
        assertThat(calls).as("script calls for %d requests of %d descriptors", REQUESTS, descriptors)
            .isEqualTo(REQUESTS);
      }
    }
  }

  @Test
  void onClusterOneScriptCallPerSlotGroup() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    StoreKeys keys = new StoreKeys(RedisOptions.DEFAULT_KEY_PREFIX);
    try (RedisStore store = RedisStore.connect(RedisClusterConformanceIT.clusterUri(cluster),
        RedisConformanceIT.TEST_OPTIONS)) {
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, FailureMode.DENY);
      for (int r = 0; r < 7; r++) {
        engine.decide("d", request(8, r), 1); // every master loads the script
      }
      for (int descriptors : new int[] {1, 3, 8}) {
        long before = clusterScriptCalls();
        long slotGroups = 0;
        for (int r = 0; r < REQUESTS; r++) {
          List<Descriptor> request = request(descriptors, r);
          Set<Integer> slots = new HashSet<>();
          for (Descriptor d : request) {
            slots.add(SlotHash.getSlot(keys.fixed(CounterKey.of("d", d.entries()), 1, 0)));
          }
          slotGroups += slots.size();
          RateLimitDecision decision = engine.decide("d", request, 1);
          assertThat(decision.storeFailed()).isFalse();
        }
        long calls = clusterScriptCalls() - before;
        System.out.printf("cluster: %d requests of %d descriptors -> %d script calls (%.2f per request),"
            + " %d slot groups%n", REQUESTS, descriptors, calls, (double) calls / REQUESTS, slotGroups);
        assertThat(calls).isEqualTo(slotGroups);
        if (descriptors == 1) {
          assertThat(calls).isEqualTo(REQUESTS);
        }
      }
    }
  }

  static final String ACME = """
      apiVersion: meshguard.dev/v1
      kind: TenantQuota
      metadata: {name: acme}
      spec:
        limits:
          - {name: monthly, period: month, amount: 100000}
          - {name: rolling, window: 1m, algorithm: sliding_window, amount: 100000}
      """;

  static QuotaSnapshot acme() throws Exception {
    TenantQuota quota = TenantQuotaFiles.parse("acme.yaml", ACME).getFirst();
    return new QuotaSnapshot(java.util.Map.of(quota.tenant(), quota));
  }

  /** A request of {@code n} descriptors as {@link #request}, then the tenant's. */
  static List<Descriptor> withTenant(int n, int salt) {
    List<Descriptor> descriptors = new ArrayList<>(request(n, salt));
    descriptors.add(Descriptor.of("tenant", "acme"));
    return descriptors;
  }

  @Test
  void onOneServerTheQuotaRidesInTheDescriptorsScriptCall() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    QuotaSnapshot quotas = acme();
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    try (RedisStore store = RedisStore.connect(StoreUri.parse(redis.uri()), RedisConformanceIT.TEST_OPTIONS)) {
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS,
          new SimpleMeterRegistry(), () -> quotas, QuotaOptions.DEFAULTS);
      engine.decide("d", withTenant(1, 0), 1);
      long usedBefore = engine.quotaUsage("acme").limits().getFirst().used();
      for (int descriptors : new int[] {1, 3}) {
        long before = CommandStats.scriptCalls(redis.redisUri());
        for (int r = 0; r < REQUESTS; r++) {
          RateLimitDecision decision = engine.decide("d", withTenant(descriptors, r), 1);
          assertThat(decision.storeFailed()).isFalse();
          assertThat(decision.overallCode()).isEqualTo(Code.OK);
          assertThat(decision.quota().outcome().admitted()).isTrue();
        }
        long calls = CommandStats.scriptCalls(redis.redisUri()) - before;
        assertThat(calls).as("script calls for %d requests of %d descriptors and a quota", REQUESTS, descriptors)
            .isEqualTo(REQUESTS);
      }
      // Every request was counted once on both sides of the one script.
      assertThat(engine.quotaUsage("acme").limits()).extracting(QuotaOutcome.LimitUsage::used)
          .containsExactly(usedBefore + 2L * REQUESTS, usedBefore + 2L * REQUESTS);
    }
  }

  @Test
  void onClusterTheQuotasScriptGoesBesideTheDescriptorsGroups() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    QuotaSnapshot quotas = acme();
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));
    StoreKeys keys = new StoreKeys(RedisOptions.DEFAULT_KEY_PREFIX);
    try (RedisStore store = RedisStore.connect(RedisClusterConformanceIT.clusterUri(cluster),
        RedisConformanceIT.TEST_OPTIONS)) {
      RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS,
          new SimpleMeterRegistry(), () -> quotas, QuotaOptions.DEFAULTS);
      for (int r = 0; r < 7; r++) {
        engine.decide("d", withTenant(8, r), 1); // every master loads the scripts
      }
      long before = clusterScriptCalls();
      long slotGroups = 0;
      for (int r = 0; r < REQUESTS; r++) {
        List<Descriptor> request = withTenant(3, r);
        Set<Integer> slots = new HashSet<>();
        for (Descriptor d : request.subList(0, 3)) {
          slots.add(SlotHash.getSlot(keys.fixed(CounterKey.of("d", d.entries()), 1, 0)));
        }
        slotGroups += slots.size();
        RateLimitDecision decision = engine.decide("d", request, 1);
        assertThat(decision.storeFailed()).isFalse();
        assertThat(decision.quota().outcome().admitted()).isTrue();
      }
      assertThat(clusterScriptCalls() - before).as("one per slot group, plus the quota's")
          .isEqualTo(slotGroups + REQUESTS);
      assertThat(engine.quotaUsage("acme").limits()).extracting(QuotaOutcome.LimitUsage::used)
          .containsExactly(7L + REQUESTS, 7L + REQUESTS);
    }
  }

  private static long clusterScriptCalls() {
    long sum = 0;
    for (ClusterNode node : cluster.nodes()) {
      sum += CommandStats.scriptCalls(node.redisUri());
    }
    return sum;
  }
}

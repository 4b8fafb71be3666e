package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What tenant quotas mean, through the engine, on one store: {@link MemoryQuotaSemanticsTest} and
 * {@link RedisQuotaSemanticsIT} run the same cases, so both stores are held to the same answers.
 */
abstract class QuotaSemantics {

  static final String RATE_LIMITS = """
      domain: d
      descriptors:
        - key: tenant
          rate_limit: {unit: minute, requests_per_unit: 1000}
        - key: path
          value: /limited
          rate_limit: {unit: hour, requests_per_unit: 1}
      """;

  final ManualClock clock = new ManualClock(Instant.parse("2026-01-31T23:59:00Z"));
  final MemoryQuotaStore quotas = new MemoryQuotaStore();
  final List<String> crossings = new ArrayList<>();
  CounterStore store;
  RateLimitEngine engine;

  /** A fresh, empty store on {@code clock}. */
  abstract CounterStore newStore(ManualClock clock);

  void setUp(String... quotaYaml) throws Exception {
    List<TenantQuota> declared = new ArrayList<>();
    for (String yaml : quotaYaml) {
      declared.addAll(TenantQuotaFiles.parse("q.yaml", yaml));
    }
    quotas.importYaml(declared);
    store = newStore(clock);
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", RATE_LIMITS);
    engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS.withLocalCacheMaxEntries(0),
        new SimpleMeterRegistry(), quotas::snapshot, QuotaOptions.DEFAULTS);
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  static String quota(String tenant, String limits) {
    return "apiVersion: meshguard.dev/v1\nkind: TenantQuota\nmetadata:\n  name: " + tenant + "\nspec:\n  limits:\n"
        + limits;
  }

  RateLimitDecision request(String tenant, long hits) {
    return engine.decide("d", List.of(Descriptor.of("tenant", tenant)), hits);
  }

  long used(String tenant, String limit) {
    return engine.quotaUsage(tenant).limits().stream().filter(u -> u.limit().name().equals(limit)).findFirst()
        .orElseThrow().used();
  }

  long admitted(String tenant, int requests) {
    long admitted = 0;
    for (int i = 0; i < requests; i++) {
      if (request(tenant, 1).overallCode() == Code.OK) {
        admitted++;
      }
    }
    return admitted;
  }

  @Test
  void aHardQuotaAdmitsItsAmountAndNoMore() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 5}\n"));
    assertThat(admitted("acme", 8)).isEqualTo(5);
    RateLimitDecision denied = request("acme", 1);
    assertThat(denied.overallCode()).isEqualTo(Code.OVER_LIMIT);
    DescriptorStatus status = denied.statuses().getFirst();
    assertThat(status.currentLimit()).isEqualTo(new CurrentLimit(5, RateLimitUnit.MONTH, "monthly"));
    assertThat(status.limitRemaining()).isZero();
    assertThat(used("acme", "monthly")).as("refused requests consume nothing").isEqualTo(5);
  }

  @Test
  void aRefusedRequestConsumesNoneOfTheTenantsLimits() throws Exception {
    setUp(quota("acme", """
            - {name: daily, period: day, amount: 3}
            - {name: monthly, period: month, amount: 100, enforcement: soft}
            - {name: per-minute, window: 1m, amount: 50}
        """));
    assertThat(admitted("acme", 3)).isEqualTo(3);
    assertThat(request("acme", 1).overallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(used("acme", "monthly")).isEqualTo(3);
    assertThat(used("acme", "per-minute")).isEqualTo(3);
    assertThat(used("acme", "daily")).isEqualTo(3);
  }

  @Test
  void aRequestOfSeveralHitsIsAdmittedWholeOrNotAtAll() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 5}\n"));
    assertThat(request("acme", 4).overallCode()).isEqualTo(Code.OK);
    assertThat(request("acme", 2).overallCode()).as("4 + 2 > 5").isEqualTo(Code.OVER_LIMIT);
    assertThat(used("acme", "monthly")).isEqualTo(4);
    RateLimitDecision last = request("acme", 1);
    assertThat(last.overallCode()).isEqualTo(Code.OK);
    assertThat(last.statuses().getFirst().limitRemaining()).isZero();
  }

  @Test
  void theMonthRollsOverAtMidnightOfTheFirstWithAnExactReset() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 2}\n"));
    clock.setWallTime(Instant.parse("2026-01-31T23:59:59.250Z"));
    RateLimitDecision first = request("acme", 1);
    assertThat(first.statuses().getFirst().durationUntilReset()).isEqualTo(Duration.ofMillis(750));
    assertThat(request("acme", 1).overallCode()).isEqualTo(Code.OK);
    assertThat(request("acme", 1).overallCode()).isEqualTo(Code.OVER_LIMIT);
    clock.setWallTime(Instant.parse("2026-02-01T00:00:00Z"));
    RateLimitDecision february = request("acme", 1);
    assertThat(february.overallCode()).isEqualTo(Code.OK);
    assertThat(february.statuses().getFirst().limitRemaining()).isEqualTo(1);
    assertThat(february.statuses().getFirst().durationUntilReset()).as("February 2026 has 28 days")
        .isEqualTo(Duration.ofDays(28));
  }

  @Test
  void calendarPeriodsFollowTheQuotasTimeZone() throws Exception {
    setUp("""
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: acme}
        spec:
          timeZone: Europe/Berlin
          limits:
            - {name: daily, period: day, amount: 1}
        """);
    clock.setWallTime(Instant.parse("2026-03-28T22:30:00Z")); // 23:30 in Berlin
    RateLimitDecision first = request("acme", 1);
    assertThat(first.statuses().getFirst().durationUntilReset()).isEqualTo(Duration.ofMinutes(30));
    assertThat(request("acme", 1).overallCode()).isEqualTo(Code.OVER_LIMIT);
    clock.setWallTime(Instant.parse("2026-03-28T23:00:00Z")); // midnight in Berlin: March 29, a 23-hour day
    RateLimitDecision next = request("acme", 1);
    assertThat(next.overallCode()).isEqualTo(Code.OK);
    assertThat(next.statuses().getFirst().durationUntilReset()).isEqualTo(Duration.ofHours(23));
  }

  @Test
  void aSoftLimitAllowsAndReports() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 2, enforcement: soft}\n"));
    assertThat(admitted("acme", 4)).isEqualTo(4);
    RateLimitDecision over = request("acme", 1);
    assertThat(over.overallCode()).isEqualTo(Code.OK);
    assertThat(over.statuses().getFirst().limitRemaining()).isZero();
    assertThat(over.statuses().getFirst().currentLimit().name()).isEqualTo("monthly");
    assertThat(over.quota().outcome().limits().getFirst().over()).isTrue();
    assertThat(used("acme", "monthly")).isEqualTo(5);
  }

  @Test
  void crossingsOf80And100PercentAreSeenOncePerPeriod() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 10, enforcement: soft}\n"));
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 15; i++) {
      RateLimitDecision decision = request("acme", 1);
      for (QuotaOutcome.LimitUsage usage : decision.quota().outcome().limits()) {
        for (int percent : new int[] {80, 100}) {
          if (usage.crossed(percent)) {
            seen.add(percent + "% at " + usage.used());
          }
        }
      }
    }
    assertThat(seen).containsExactly("80% at 8", "100% at 10");
  }

  @Test
  void aDescriptorLimitThatRefusesStillChargesTheQuota() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 10}\n"));
    List<Descriptor> request = List.of(Descriptor.of("tenant", "acme"), Descriptor.of("path", "/limited"));
    assertThat(engine.decide("d", request, 1).overallCode()).isEqualTo(Code.OK);
    RateLimitDecision refused = engine.decide("d", request, 1);
    assertThat(refused.overallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(refused.statuses().get(1).code()).isEqualTo(Code.OVER_LIMIT);
    assertThat(refused.statuses().get(0).code()).isEqualTo(Code.OK);
    assertThat(used("acme", "monthly")).as("decided in parallel: the quota admitted both").isEqualTo(2);
  }

  @Test
  void theTenantsStatusIsTheTightestOfItsOwnLimitAndTheQuota() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 2000}\n"),
        quota("small", "    - {name: monthly, period: month, amount: 3}\n"));
    DescriptorStatus roomy = request("acme", 1).statuses().getFirst();
    assertThat(roomy.currentLimit()).as("999 left per minute < 1999 per month")
        .isEqualTo(new CurrentLimit(1000, RateLimitUnit.MINUTE, ""));
    assertThat(roomy.limitRemaining()).isEqualTo(999);
    DescriptorStatus tight = request("small", 1).statuses().getFirst();
    assertThat(tight.currentLimit()).isEqualTo(new CurrentLimit(3, RateLimitUnit.MONTH, "monthly"));
    assertThat(tight.limitRemaining()).isEqualTo(2);
  }

  @Test
  void theDefaultQuotaCountsEachTenantApartAndUnlimitedTenantsSkipIt() throws Exception {
    setUp("""
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: default-quota}
        spec:
          default: true
          limits:
            - {name: trial, period: month, amount: 2}
        """, """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: internal}
        spec:
          unlimited: true
        """);
    assertThat(admitted("globex", 5)).isEqualTo(2);
    assertThat(admitted("initech", 5)).isEqualTo(2);
    assertThat(admitted("internal", 5)).isEqualTo(5);
    assertThat(request("internal", 1).quota()).isNull();
    assertThat(engine.quotaUsage("internal")).isNull();
  }

  @Test
  void requestsWithoutTheTenantEntryAreNotChecked() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 0}\n"));
    RateLimitDecision decision = engine.decide("d", List.of(Descriptor.of("path", "/other")), 1);
    assertThat(decision.overallCode()).isEqualTo(Code.OK);
    assertThat(decision.quota()).isNull();
    assertThat(request("acme", 1).overallCode()).isEqualTo(Code.OVER_LIMIT);
  }

  @Test
  void aSlidingWindowQuotaWeighsThePreviousWindow() throws Exception {
    setUp(quota("acme", "    - {name: rolling, window: 60s, algorithm: sliding_window, amount: 10}\n"));
    clock.setWallTime(Instant.parse("2026-01-31T10:00:00Z"));
    assertThat(admitted("acme", 12)).isEqualTo(10);
    clock.setWallTime(Instant.parse("2026-01-31T10:01:30Z")); // half-way: 10 * 1/2 = 5 still weigh
    assertThat(admitted("acme", 12)).isEqualTo(5);
  }

  @Test
  void aReadCountsNothing() throws Exception {
    setUp(quota("acme", "    - {name: monthly, period: month, amount: 3}\n"));
    request("acme", 2);
    QuotaOutcome read = engine.quotaUsage("acme");
    assertThat(read.admitted()).isTrue();
    assertThat(read.limits().getFirst().used()).isEqualTo(2);
    assertThat(read.limits().getFirst().remaining()).isEqualTo(1);
    assertThat(engine.quotaUsage("acme").limits().getFirst().used()).isEqualTo(2);
  }

  @Test
  void aResetStartsTheCurrentPeriodsAfresh() throws Exception {
    setUp(quota("acme", """
            - {name: monthly, period: month, amount: 3}
            - {name: rolling, window: 1h, algorithm: sliding_window, amount: 3}
        """));
    assertThat(admitted("acme", 5)).isEqualTo(3);
    assertThat(engine.resetQuotaUsage("acme")).isTrue();
    assertThat(engine.quotaUsage("acme").limits()).extracting(QuotaOutcome.LimitUsage::used).containsExactly(0L, 0L);
    assertThat(admitted("acme", 5)).isEqualTo(3);
    assertThat(engine.resetQuotaUsage("nobody")).as("no quota applies").isFalse();
  }
}

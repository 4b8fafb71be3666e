package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Per-tenant quota meters: the top N tenants by usage get series, the rest are summed as other. */
class QuotaUsageMetersTest {

  static final QuotaLimit MONTHLY = new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 100,
      QuotaLimit.Enforcement.HARD);
  static final QuotaLimit SOFT = new QuotaLimit("daily", new QuotaPeriod.Calendar(CalendarUnit.DAY), 10,
      QuotaLimit.Enforcement.SOFT);

  static QuotaOutcome outcome(boolean admitted, long monthlyUsed, long dailyUsed) {
    return new QuotaOutcome(admitted, List.of(new QuotaOutcome.LimitUsage(MONTHLY, monthlyUsed - 1, 1, true, 1),
        new QuotaOutcome.LimitUsage(SOFT, dailyUsed - 1, 1, true, 1)));
  }

  static Map<String, Double> gauges(SimpleMeterRegistry registry, String name) {
    Map<String, Double> values = new TreeMap<>();
    for (Gauge gauge : registry.find(name).gauges()) {
      String limit = gauge.getId().getTag("limit");
      values.put(gauge.getId().getTag("tenant") + (limit == null ? "" : "/" + limit), gauge.value());
    }
    return values;
  }

  @Test
  void theTopTenantsGetSeriesAndTheRestAreOther() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    QuotaUsageMeters meters = new QuotaUsageMeters(registry, 2, 3);
    meters.record("acme", outcome(true, 90, 1));
    meters.record("globex", outcome(true, 50, 1));
    meters.record("initech", outcome(true, 70, 12)); // over the soft daily limit
    meters.record("hooli", outcome(false, 10, 1)); // beyond the 3 tracked: only in other
    meters.record("globex", outcome(false, 50, 1));
    meters.publish();
    assertThat(gauges(registry, "meshguard.ratelimit.quota.usage.ratio")).containsExactlyEntriesOf(new TreeMap<>(Map.of(
        "acme/monthly", 0.9, "acme/daily", 0.1, "initech/monthly", 0.7, "initech/daily", 1.2, "other/*", 0.5)));
    assertThat(gauges(registry, "meshguard.ratelimit.quota.tenant.denied")).containsExactlyEntriesOf(new TreeMap<>(
        Map.of("acme", 0.0, "initech", 0.0, "other", 2.0)));
    assertThat(gauges(registry, "meshguard.ratelimit.quota.tenant.soft.over")).containsExactlyEntriesOf(new TreeMap<>(
        Map.of("acme", 0.0, "initech", 1.0, "other", 0.0)));
  }
}

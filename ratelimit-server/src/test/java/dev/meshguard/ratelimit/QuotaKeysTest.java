package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The names of a tenant's quota counters: one Redis Cluster slot per tenant (so one script can
 * check them all), distinct per limit, period and zone.
 */
class QuotaKeysTest {

  static final TenantQuota QUOTA = new TenantQuota("acme", ZoneId.of("Europe/Berlin"), List.of(
      new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 10, QuotaLimit.Enforcement.HARD),
      new QuotaLimit("daily", new QuotaPeriod.Calendar(CalendarUnit.DAY), 10, QuotaLimit.Enforcement.SOFT),
      new QuotaLimit("second", new QuotaPeriod.Window(Algorithm.FIXED_WINDOW, 1), 10, QuotaLimit.Enforcement.HARD),
      new QuotaLimit("rolling", new QuotaPeriod.Window(Algorithm.SLIDING_WINDOW, 60), 10,
          QuotaLimit.Enforcement.HARD)), false, TenantQuota.ManagedBy.API);

  @ParameterizedTest
  @ValueSource(strings = {"acme", "a}b", "{x}", "with space", "ünïcode"})
  void everyCounterOfATenantIsInOneSlot(String tenant) {
    QuotaCounters.Slot[] slots = QuotaCounters.slots("mg:", new QuotaHit(tenant, QUOTA, 1),
        Instant.parse("2026-03-29T12:00:00Z").toEpochMilli(), 0);
    List<String> keys = new ArrayList<>();
    for (QuotaCounters.Slot slot : slots) {
      keys.addAll(List.of(slot.keys()));
    }
    assertThat(keys).hasSize(5).doesNotHaveDuplicates();
    Set<Integer> slotsUsed = keys.stream().map(SlotHash::getSlot).collect(Collectors.toSet());
    assertThat(slotsUsed).hasSize(1);
  }

  @org.junit.jupiter.api.Test
  void namesCarryLimitPeriodZoneAndStart() {
    QuotaCounters.Slot[] slots = QuotaCounters.slots("mg:", new QuotaHit("acme", QUOTA, 1),
        Instant.parse("2026-03-29T12:00:00Z").toEpochMilli(), 0);
    assertThat(slots[0].keys()).containsExactly("mg:{q:4:acme}7:monthly:month@Europe/Berlin:1772319600");
    assertThat(slots[1].keys()).containsExactly("mg:{q:4:acme}5:daily:day@Europe/Berlin:1774738800");
    assertThat(slots[2].keys()).containsExactly("mg:{q:4:acme}6:second:fixed_window/1s:1774785600");
    assertThat(slots[3].keys()).containsExactly("mg:{q:4:acme}7:rolling:sliding_window/60s:1774785600",
        "mg:{q:4:acme}7:rolling:sliding_window/60s:1774785540");
  }
}

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

  /**
   * The cached names (per period, per millisecond) give what names built afresh give, through
   * period roll-overs of every kind (month, DST day, fixed and sliding windows), the same
   * millisecond twice, other jitters, and a clock set back.
   */
  @org.junit.jupiter.api.Test
  void cachedNamesAgreeWithFreshOnesAcrossPeriods() {
    QuotaCounters.Names names = new QuotaCounters.Names("mg:", "acme", QUOTA);
    List<String> instants = List.of("2026-03-29T00:59:59.999Z", "2026-03-29T00:59:59.999Z", "2026-03-29T01:00:00Z",
        "2026-03-29T01:00:00.500Z", "2026-03-29T01:00:59.999Z", "2026-03-29T01:01:00Z", "2026-03-31T21:59:59.999Z",
        "2026-03-31T22:00:00Z", "2026-04-01T00:00:00Z", "2026-03-15T12:00:00Z", "2026-04-01T00:00:00Z");
    long jitter = 0;
    for (String text : instants) {
      long now = Instant.parse(text).toEpochMilli();
      for (long j : new long[] {jitter, jitter, jitter + 1000}) {
        QuotaCounters.Slot[] cached = names.slots(now, j);
        QuotaCounters.Slot[] fresh = QuotaCounters.slots("mg:", new QuotaHit("acme", QUOTA, 1), now, j);
        assertThat(cached).hasSameSizeAs(fresh);
        for (int i = 0; i < fresh.length; i++) {
          assertThat(cached[i].keys()).as("%s limit %d", text, i).containsExactly(fresh[i].keys());
          assertThat(cached[i]).as("%s limit %d", text, i).usingRecursiveComparison().ignoringFields("keys")
              .isEqualTo(fresh[i]);
        }
      }
      jitter += 1000;
    }
  }

  @org.junit.jupiter.api.Test
  void namesAreOfOneTenantAndOneQuotaInstance() {
    QuotaCounters.Names names = new QuotaCounters.Names("mg:", "acme", QUOTA);
    assertThat(names.of("acme", QUOTA)).isTrue();
    assertThat(names.of("globex", QUOTA)).isFalse();
    TenantQuota equal = new TenantQuota(QUOTA.tenant(), QUOTA.zone(), QUOTA.limits(), false, QUOTA.managedBy());
    assertThat(names.of("acme", equal)).as("a replaced quota is renamed, even if equal").isFalse();

    QuotaCounters.NameCache cache = new QuotaCounters.NameCache("mg:", 3);
    QuotaCounters.Names acme = cache.of(new QuotaHit("acme", QUOTA, 1));
    assertThat(cache.of(new QuotaHit("acme", QUOTA, 2))).isSameAs(acme);
    assertThat(cache.of(new QuotaHit("acme", equal, 1))).isNotSameAs(acme);
    for (String tenant : List.of("b", "c", "d", "e")) {
      cache.of(new QuotaHit(tenant, QUOTA, 1));
      assertThat(cache.size()).isLessThanOrEqualTo(3);
    }
  }
}

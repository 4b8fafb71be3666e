package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.ratelimit.CalendarUnit;
import dev.meshguard.ratelimit.QuotaLimit;
import dev.meshguard.ratelimit.QuotaOutcome;
import dev.meshguard.ratelimit.QuotaPeriod;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The audit event written when a tenant crosses 80% or 100% of a quota limit. */
class QuotaAuditEventTest {

  @Test
  void aCrossingNamesTenantLimitAndUsage() {
    ManualClock clock = new ManualClock(Instant.parse("2026-05-20T12:00:00Z"));
    QuotaLimit monthly = new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 1000,
        QuotaLimit.Enforcement.HARD);
    AuditEvent event = RateLimits.quotaEvent(clock, "acme", new QuotaOutcome.LimitUsage(monthly, 799, 1, true, 5),
        80);
    assertThat(event.component()).isEqualTo("ratelimit");
    assertThat(event.kind()).isEqualTo("quota");
    assertThat(event.outcome()).isEqualTo("quota_80");
    assertThat(event.object().descriptors()).isEqualTo("tenant=acme");
    assertThat(event.policy()).isEqualTo(new AuditEvent.PolicyRef("monthly", "acme", null));
    assertThat(event.reason()).isEqualTo("80% of hard quota limit monthly: 800 of 1000 per month");
    assertThat(event.time()).isEqualTo(clock.now());
  }
}

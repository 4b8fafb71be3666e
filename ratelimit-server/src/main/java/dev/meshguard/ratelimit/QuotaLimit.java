package dev.meshguard.ratelimit;

import java.util.Objects;

/**
 * One named limit of a tenant's quota.
 *
 * @param name unique within the quota; names the counter, so renaming a limit starts it afresh
 * @param period how usage is counted over time
 * @param amount the hits allowed per period, a uint32 (what {@code current_limit} can carry)
 * @param enforcement whether going over refuses ({@link Enforcement#HARD}) or only reports
 */
public record QuotaLimit(String name, QuotaPeriod period, long amount, Enforcement enforcement) {

  /** What being over a limit does. */
  public enum Enforcement {
    /** Over means OVER_LIMIT; a refused request consumes none of the tenant's limits. */
    HARD,
    /** Over is allowed: reported in the status (0 remaining), the metrics and the audit log. */
    SOFT;

    /** {@code hard} or {@code soft}. */
    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public QuotaLimit {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(period, "period");
    Objects.requireNonNull(enforcement, "enforcement");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("a quota limit needs a name");
    }
    if (amount < 0 || amount > RateLimit.UINT32_MAX) {
      throw new IllegalArgumentException("amount must be a uint32: " + amount);
    }
  }

  /** Whether going over refuses. */
  public boolean hard() {
    return enforcement == Enforcement.HARD;
  }
}

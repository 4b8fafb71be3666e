package dev.meshguard.ratelimit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-tenant quota meters with bounded cardinality: only the top N tenants by usage get series of
 * their own, every other tenant is summed up under {@code tenant="other"}.
 *
 * <ul>
 *   <li>{@code meshguard_ratelimit_quota_usage_ratio{tenant,limit}}: used / amount of each limit as
 *       of the tenant's last request (1 for an amount of 0); for {@code other}, the highest ratio
 *       among the rest under {@code limit="*"};
 *   <li>{@code meshguard_ratelimit_quota_tenant_denied{tenant}} and
 *       {@code meshguard_ratelimit_quota_tenant_soft_over{tenant}}: requests refused by a hard
 *       limit, and admitted over a soft one, since start (gauges, as a tenant may leave the top N).
 * </ul>
 *
 * <p>The request path records into a map (one entry per tenant, at most {@code maxTracked};
 * tenants beyond that are counted under {@code other} only); {@link #publish} ranks and rewrites
 * the series, on the server's quota schedule. Accepted race: a record concurrent with a publish
 * shows at the next publish.
 */
final class QuotaUsageMeters {

  static final String OTHER = "other";

  private static final class Tracked {
    /**
     * The outcome of the tenant's last request (immutable): its ratios and maximum are computed
     * when published, not per request. Written with release semantics ({@link #LAST}) rather than
     * as a volatile: a publish may see the previous request's outcome, and no request pays for a
     * full fence.
     */
    @SuppressWarnings("unused") // through LAST
    QuotaOutcome last;
    /** Only for {@code other}: the highest ratio of any untracked tenant's request. */
    volatile double max;
    final LongAdder denied = new LongAdder();
    final LongAdder softOver = new LongAdder();
  }

  private static final VarHandle LAST;

  static {
    try {
      LAST = MethodHandles.lookup().findVarHandle(Tracked.class, "last", QuotaOutcome.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final int topN;
  private final int maxTracked;
  private final ConcurrentHashMap<String, Tracked> tenants = new ConcurrentHashMap<>();
  private final Tracked untracked = new Tracked();
  private final MultiGauge ratio;
  private final MultiGauge denied;
  private final MultiGauge softOver;

  QuotaUsageMeters(MeterRegistry registry, int topN, int maxTracked) {
    this.topN = topN;
    this.maxTracked = maxTracked;
    this.ratio = MultiGauge.builder("meshguard.ratelimit.quota.usage.ratio")
        .description("Used over amount of each quota limit of the top tenants by usage").register(registry);
    this.denied = MultiGauge.builder("meshguard.ratelimit.quota.tenant.denied")
        .description("Requests refused by a hard quota limit since start, top tenants").register(registry);
    this.softOver = MultiGauge.builder("meshguard.ratelimit.quota.tenant.soft.over")
        .description("Requests admitted over a soft quota limit since start, top tenants").register(registry);
  }

  void record(String tenant, QuotaOutcome outcome) {
    record(tenant, outcome, outcome.admitted() && softOver(outcome));
  }

  /** As {@link #record(String, QuotaOutcome)}, told whether an admitted request went over a soft limit. */
  void record(String tenant, QuotaOutcome outcome, boolean softOver) {
    Tracked tracked = tenants.get(tenant);
    if (tracked == null) {
      tracked = tenants.size() >= maxTracked ? untracked : tenants.computeIfAbsent(tenant, t -> new Tracked());
    }
    if (tracked == untracked) {
      untracked.max = Math.max(untracked.max, max(outcome)); // accepted race: a concurrent higher one may be lost
    } else {
      LAST.setRelease(tracked, outcome);
    }
    if (!outcome.admitted()) {
      tracked.denied.increment();
    } else if (softOver) {
      tracked.softOver.increment();
    }
  }

  /** Whether a request went over a soft limit (counted as soft-over when it was admitted). */
  static boolean softOver(QuotaOutcome outcome) {
    List<QuotaOutcome.LimitUsage> usages = outcome.limits();
    for (int i = 0; i < usages.size(); i++) {
      QuotaOutcome.LimitUsage usage = usages.get(i);
      if (!usage.limit().hard() && usage.over()) {
        return true;
      }
    }
    return false;
  }

  /** The highest ratio of an outcome's limits; 0 for none. */
  private static double max(QuotaOutcome outcome) {
    double max = 0;
    if (outcome != null) {
      for (QuotaOutcome.LimitUsage usage : outcome.limits()) {
        max = Math.max(max, ratio(usage));
      }
    }
    return max;
  }

  /** Used over amount (1 for an amount of 0). */
  private static double ratio(QuotaOutcome.LimitUsage usage) {
    long amount = usage.limit().amount();
    return amount == 0 ? 1 : (double) usage.used() / amount;
  }

  /** Ranks the tenants and rewrites the series: the top N by highest ratio, then the rest as {@code other}. */
  void publish() {
    record Ranked(String tenant, Tracked tracked, QuotaOutcome last, double max) {}
    List<Ranked> ranked = new ArrayList<>(tenants.size());
    for (Map.Entry<String, Tracked> entry : tenants.entrySet()) {
      QuotaOutcome last = (QuotaOutcome) LAST.getAcquire(entry.getValue());
      ranked.add(new Ranked(entry.getKey(), entry.getValue(), last, max(last)));
    }
    ranked.sort(Comparator.comparingDouble((Ranked r) -> -r.max()).thenComparing(Ranked::tenant));
    List<MultiGauge.Row<?>> ratioRows = new ArrayList<>();
    List<MultiGauge.Row<?>> deniedRows = new ArrayList<>();
    List<MultiGauge.Row<?>> softRows = new ArrayList<>();
    double otherMax = untracked.max;
    long otherDenied = untracked.denied.sum();
    long otherSoft = untracked.softOver.sum();
    boolean anyOther = !tenants.isEmpty() && ranked.size() > topN || otherDenied > 0 || otherSoft > 0;
    for (int i = 0; i < ranked.size(); i++) {
      String tenant = ranked.get(i).tenant();
      Tracked t = ranked.get(i).tracked();
      if (i < topN) {
        QuotaOutcome last = ranked.get(i).last();
        if (last != null) {
          for (QuotaOutcome.LimitUsage usage : last.limits()) {
            ratioRows.add(MultiGauge.Row.of(Tags.of("tenant", tenant, "limit", usage.limit().name()), ratio(usage)));
          }
        }
        deniedRows.add(MultiGauge.Row.of(Tags.of("tenant", tenant), t.denied.sum()));
        softRows.add(MultiGauge.Row.of(Tags.of("tenant", tenant), t.softOver.sum()));
      } else {
        otherMax = Math.max(otherMax, ranked.get(i).max());
        otherDenied += t.denied.sum();
        otherSoft += t.softOver.sum();
      }
    }
    if (anyOther) {
      ratioRows.add(MultiGauge.Row.of(Tags.of("tenant", OTHER, "limit", "*"), otherMax));
      deniedRows.add(MultiGauge.Row.of(Tags.of("tenant", OTHER), otherDenied));
      softRows.add(MultiGauge.Row.of(Tags.of("tenant", OTHER), otherSoft));
    }
    ratio.register(ratioRows, true);
    denied.register(deniedRows, true);
    softOver.register(softRows, true);
  }
}

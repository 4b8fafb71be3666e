package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Decides one {@code ShouldRateLimit} request the way envoyproxy/ratelimit does
 * ({@code src/service/ratelimit.go}, {@code src/limiter/base_limiter.go},
 * {@code src/redis/fixed_cache_impl.go}):
 *
 * <ol>
 *   <li>each descriptor is matched independently ({@link RateLimitConfig#getLimit});
 *   <li>{@code replaces}: the names in the {@code replaces} of every matched limit (unlimited ones
 *       too) are collected, and any matched limit with such a name is dropped: not counted, OK
 *       with no limit;
 *   <li>{@code unlimited} limits never touch the store: OK, no limit, remaining UINT32_MAX;
 *   <li>a counter the local over-limit cache ({@link OverLimitCache}) has seen over its limit in
 *       this window is answered OVER_LIMIT without the store and is not incremented;
 *   <li>the other limits are counted in one store call, in request order, each by its
 *       {@link Algorithm}; by default in fixed windows aligned to Unix time
 *       ({@code start = now - now % window}), where every matched descriptor is incremented,
 *       also when another one, or itself, is over, unless
 *       {@link EngineOptions#stopIncrementWhenOverLimit()} is on (below);
 *   <li>over, remaining and {@code duration_until_reset} are the store's {@link Outcome}: for a
 *       fixed window, over means count after the increment &gt; {@code requests_per_unit},
 *       remaining is limit minus count, floored at 0, and the reset is
 *       {@code window - now % window};
 *   <li>{@code shadow_mode}: an over-limit status is reported OK (keeping its limit, and 0
 *       remaining); {@code overall_code} is OVER_LIMIT if any status is, and then OK again when
 *       the global {@link EngineOptions#shadowMode()} is on.
 * </ol>
 *
 * <p>Hits: the request-level {@code hits_addend} of 0 means 1; a descriptor's own
 * {@code hits_addend}, when set, replaces it and may be 0 to check without incrementing.
 *
 * <p>A descriptor's own {@code limit} ({@code RateLimitOverride}) is used instead of the
 * configured one when the domain exists, as upstream does; an unknown domain still gets no limit.
 *
 * <h2>Stop incrementing when over the limit</h2>
 * Upstream's {@code STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT} ({@code getHitsAddend} in
 * {@code fixed_cache_impl.go}): if a counter of the request is over in the local cache, the others
 * are incremented by 0 (read); otherwise every counter is read first, and if any would go over
 * with this request's hits (its count plus the hits above its capacity: the limit, or a token
 * bucket's burst), only those are incremented and the others read. It takes two store
 * calls, as upstream's GET pipeline and INCRBY pipeline do, and shares upstream's race: between
 * the read and the increment other requests may count, so the read is a hint, not a lock.
 *
 * <h2>Stats</h2>
 * Per matched limit, as upstream's {@code GetResponseDescriptorStatus} counts them, in hits (see
 * {@link RateLimitMetrics}): {@code total_hits} always; then with {@code before} = count minus
 * this request's hits and {@code near} = {@code floor(float32(limit) * ratio)}: over the limit,
 * {@code over_limit} gets all hits if {@code before >= limit}, else {@code count - limit}, and
 * {@code near_limit} then gets {@code limit - max(near, before)}; within the limit,
 * {@code within_limit} gets all hits and {@code near_limit} the ones above {@code near}. A local
 * cache hit adds its hits to {@code over_limit} and {@code over_limit_with_local_cache}; an
 * over-limit shadow-mode limit adds to {@code shadow_mode} what it added to {@code over_limit}.
 * Where upstream's unsigned {@code before} would wrap (a counter read, not incremented, below this
 * request's hits), it is 0 here.
 *
 * <h2>Tenant quotas</h2>
 * When a quota source is given, the first descriptor with an entry whose key is the tenant key
 * ({@value QuotaOptions#DEFAULT_TENANT_KEY} by default) names the tenant; its quota (its own, else the
 * default one; none for an unlimited tenant) is checked and counted with that descriptor's hits in
 * the <em>same</em> store call as the descriptor limits ({@link CounterStore#hit(List, QuotaHit,
 * long)}: no extra round trip), all or nothing: a request a hard limit refuses consumes none of
 * the tenant's counters. That descriptor's status reports the tightest of its own limit and the
 * quota's limits: an OVER_LIMIT one first, else the least remaining (its own limit on a tie). A
 * soft limit over is OK with 0 remaining. The quota and the descriptor limits are decided
 * independently, in parallel: a request the quota admits is charged to the quota also when a
 * descriptor limit (or the local over-limit cache) refuses it, and descriptor counters count a
 * request the quota refuses as they count any refused request. On a store failure the failure
 * mode answers for the quota too ({@code deny}: the tenant's descriptor is OVER_LIMIT). Only the
 * final counting call carries the quota, so with stop-incrementing on its read is not charged.
 *
 * <p>Only fixed windows go into the local cache: a sliding window or a token bucket that is over
 * now admits again before its window ends. Never throws for a request: a store failure is
 * answered by the {@link FailureMode} (counters the local cache knows to be over still answer
 * OVER_LIMIT).
 */
public final class RateLimitEngine {

  private final Supplier<RateLimitConfig> config;
  private final CounterStore store;
  private final Clock clock;
  private final EngineOptions options;
  /** Upstream multiplies in float32 ({@code float32(limit) * nearLimitRatio}); so do we, to agree. */
  private final float nearLimitRatio;
  private final OverLimitCache localCache; // null when off
  private final RateLimitMetrics metrics;
  private final LongAdder storeErrors = new LongAdder();
  private final Supplier<QuotaSnapshot> quotas;
  private final String tenantKey;
  private final QuotaMeters quotaMeters;
  private final QuotaUsageMeters tenantMeters;

  /**
   * An engine with {@link EngineOptions#DEFAULTS} but {@code failureMode}, whose metrics go to a
   * registry of its own.
   *
   * @param config the current snapshot, read once per request (e.g. {@code AtomicReference::get})
   */
  public RateLimitEngine(Supplier<RateLimitConfig> config, CounterStore store, Clock clock, FailureMode failureMode) {
    this(config, store, clock, EngineOptions.DEFAULTS.withFailureMode(failureMode), new SimpleMeterRegistry());
  }

  /**
   * @param config the current snapshot, read once per request (e.g. {@code AtomicReference::get})
   * @param registry where the per-descriptor and store meters are registered
   */
  public RateLimitEngine(Supplier<RateLimitConfig> config, CounterStore store, Clock clock, EngineOptions options,
      MeterRegistry registry) {
    this(config, store, clock, options, registry, () -> QuotaSnapshot.EMPTY, QuotaOptions.DEFAULTS);
  }

  /**
   * An engine that also enforces tenant quotas.
   *
   * @param quotas the current quotas, read once per request (e.g. {@link QuotaStore#snapshot})
   * @param quotaOptions the tenant key and the bound of the per-tenant meters (its directory is
   *     the server's business)
   */
  public RateLimitEngine(Supplier<RateLimitConfig> config, CounterStore store, Clock clock, EngineOptions options,
      MeterRegistry registry, Supplier<QuotaSnapshot> quotas, QuotaOptions quotaOptions) {
    this.quotas = Objects.requireNonNull(quotas, "quotas");
    this.tenantKey = quotaOptions.tenantKey();
    this.quotaMeters = new QuotaMeters(Objects.requireNonNull(registry, "registry"));
    this.tenantMeters = new QuotaUsageMeters(registry, quotaOptions.metricsTopTenants(),
        QuotaOptions.MAX_TRACKED_TENANTS);
    this.config = Objects.requireNonNull(config, "config");
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.options = Objects.requireNonNull(options, "options");
    this.nearLimitRatio = (float) options.nearLimitRatio();
    this.localCache = options.localCacheMaxEntries() == 0 ? null : new OverLimitCache(options.localCacheMaxEntries(),
        clock);
    this.metrics = new RateLimitMetrics(Objects.requireNonNull(registry, "registry"), options.maxMetricSeries());
  }

  /**
   * Decides a request.
   *
   * @param domain the request's {@code domain}; must not be empty
   * @param descriptors the request's descriptors; must not be empty
   * @param hitsAddend the request-level {@code hits_addend} (a uint32; 0 means 1)
   * @throws IllegalArgumentException for an empty domain or no descriptors (the gRPC layer answers
   *     INVALID_ARGUMENT)
   */
  public RateLimitDecision decide(String domain, List<Descriptor> descriptors, long hitsAddend) {
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(descriptors, "descriptors");
    if (domain.isEmpty()) {
      throw new IllegalArgumentException("rate limit domain must not be empty");
    }
    if (descriptors.isEmpty()) {
      throw new IllegalArgumentException("rate limit descriptor list must not be empty");
    }
    if (hitsAddend < 0) {
      throw new IllegalArgumentException("hitsAddend must not be negative: " + hitsAddend);
    }
    long requestHits = hitsAddend == 0 ? 1 : hitsAddend;
    RateLimitConfig snapshot = config.get();
    int n = descriptors.size();
    RateLimit[] limits = new RateLimit[n];
    Set<String> replaced = null;
    for (int i = 0; i < n; i++) {
      Descriptor descriptor = descriptors.get(i);
      limits[i] = descriptor.limit() != null && snapshot.hasDomain(domain)
          ? descriptor.limit().toRateLimit()
          : snapshot.getLimit(domain, descriptor);
      if (limits[i] != null && !limits[i].replaces().isEmpty()) {
        if (replaced == null) {
          replaced = new HashSet<>();
        }
        replaced.addAll(limits[i].replaces());
      }
    }
    if (replaced != null) {
      for (int i = 0; i < n; i++) {
        if (limits[i] != null && !limits[i].name().isEmpty() && replaced.contains(limits[i].name())) {
          limits[i] = null;
        }
      }
    }

    Instant instant = clock.now();
    long now = instant.getEpochSecond();
    // Per descriptor index: the counter, the hits asked for, the stats; null/0 when not counted.
    CounterKey[] keys = new CounterKey[n];
    long[] hits = new long[n];
    RateLimitMetrics.LimitStats[] stats = new RateLimitMetrics.LimitStats[n];
    boolean[] cachedOver = new boolean[n];
    boolean anyCachedOver = false;
    int toStore = 0;
    for (int i = 0; i < n; i++) {
      RateLimit limit = limits[i];
      if (limit == null || limit.unlimited()) {
        continue;
      }
      Descriptor descriptor = descriptors.get(i);
      keys[i] = CounterKey.of(domain, descriptor.entries());
      hits[i] = descriptor.hitsAddend() == Descriptor.UNSET ? requestHits : descriptor.hitsAddend();
      stats[i] = metrics.stats(domain, limit, descriptor);
      stats[i].totalHits(hits[i]);
      if (localCache != null && cacheable(limit)
          && localCache.isOver(keys[i], limit.windowSeconds(), now, limit.requestsPerUnit())) {
        cachedOver[i] = true;
        anyCachedOver = true;
      } else {
        toStore++;
      }
    }

    // The tenant quota, if the request names a tenant that has one.
    int tenantIndex = -1;
    QuotaHit quotaHit = null;
    QuotaSnapshot quotaSnapshot = quotas.get();
    if (!quotaSnapshot.isEmpty()) {
      for (int i = 0; i < n && tenantIndex < 0; i++) {
        for (Descriptor.Entry entry : descriptors.get(i).entries()) {
          if (entry.key().equals(tenantKey) && !entry.value().isEmpty()) {
            tenantIndex = i;
            TenantQuota quota = quotaSnapshot.applicable(entry.value());
            if (quota != null) {
              Descriptor carrier = descriptors.get(i);
              quotaHit = new QuotaHit(entry.value(), quota,
                  carrier.hitsAddend() == Descriptor.UNSET ? requestHits : carrier.hitsAddend());
            }
            break;
          }
        }
      }
    }

    // The store: outcomes[i] of adding added[i] to counter i, for every counter not cached over.
    Outcome[] outcomes = null;
    QuotaOutcome quotaOutcome = null;
    long[] added;
    boolean storeFailed = false;
    if (toStore > 0 || quotaHit != null) {
      try {
        added = toStore > 0 ? hitsToAdd(domain, keys, hits, limits, cachedOver, anyCachedOver, instant) : hits;
        CounterStore.Answer answer = count(domain, keys, limits, added, cachedOver, instant, quotaHit);
        outcomes = answer.outcomes();
        quotaOutcome = answer.quota();
      } catch (RuntimeException e) {
        // Any store failure, not just StoreException: the request path never throws.
        storeErrors.increment();
        metrics.storeError(domain);
        storeFailed = true;
      }
    }

    List<DescriptorStatus> statuses = new ArrayList<>(n);
    List<Integer> throttled = null;
    Code overall = Code.OK;
    for (int i = 0; i < n; i++) {
      RateLimit limit = limits[i];
      DescriptorStatus status;
      if (limit == null) {
        status = DescriptorStatus.NO_LIMIT;
      } else if (limit.unlimited()) {
        status = DescriptorStatus.UNLIMITED;
      } else {
        long window = limit.windowSeconds();
        Duration reset = Duration.ofSeconds(window - Math.floorMod(now, window));
        CurrentLimit current = new CurrentLimit(limit.requestsPerUnit(), limit.unit(), limit.name());
        long rpu = limit.requestsPerUnit();
        if (cachedOver[i]) {
          stats[i].overLimit(hits[i]);
          stats[i].overLimitWithLocalCache(hits[i]);
          if (limit.shadowMode()) {
            stats[i].shadowMode(hits[i]);
          }
          status = new DescriptorStatus(limit.shadowMode() ? Code.OK : Code.OVER_LIMIT, current, 0, reset);
        } else if (storeFailed) {
          status = options.failureMode() == FailureMode.ALLOW
              ? new DescriptorStatus(Code.OK, current, rpu, reset)
              : new DescriptorStatus(Code.OVER_LIMIT, current, 0, reset);
        } else {
          Outcome outcome = outcomes[i];
          long count = outcome.count();
          long before = Math.max(0, count - hits[i]);
          boolean over = outcome.over();
          countStats(stats[i], limit.shadowMode(), outcome.capacity(), hits[i], before, count);
          if (over && localCache != null && cacheable(limit)) {
            localCache.put(keys[i], limit.windowSeconds(), count, instant);
          }
          Code code = over && !limit.shadowMode() ? Code.OVER_LIMIT : Code.OK;
          status = new DescriptorStatus(code, current, outcome.remaining(), Duration.ofMillis(outcome.resetMillis()));
          if (code == Code.OVER_LIMIT && outcome.firstOver()) {
            // The counter's first refused request in its window (for a fixed window: the one whose
            // hits carried the count across the limit; reads never are), or for a token bucket the
            // first since the last admitted one.
            if (throttled == null) {
              throttled = new ArrayList<>(1);
            }
            throttled.add(i);
          }
        }
      }
      if (i == tenantIndex && quotaHit != null) {
        status = withQuota(status, quotaHit, quotaOutcome, storeFailed);
      }
      if (status.code() == Code.OVER_LIMIT) {
        overall = Code.OVER_LIMIT;
      }
      statuses.add(status);
    }
    RateLimitDecision.QuotaDecision quotaDecision = quotaHit == null ? null
        : new RateLimitDecision.QuotaDecision(quotaHit.tenant(), tenantIndex, quotaOutcome);
    if (quotaOutcome != null) {
      // Whether it went over a soft limit is worked out once, for both meters.
      boolean softOver = quotaOutcome.admitted() && QuotaUsageMeters.softOver(quotaOutcome);
      quotaMeters.count(quotaOutcome.admitted(), softOver);
      tenantMeters.record(quotaHit.tenant(), quotaOutcome, softOver);
    }
    if (overall == Code.OVER_LIMIT && options.shadowMode()) {
      // Upstream's SHADOW_MODE: the statuses stay as they are; nothing is denied, so nothing is
      // reported as throttled either.
      overall = Code.OK;
      metrics.globalShadowMode();
      throttled = null;
    }
    return new RateLimitDecision(overall, statuses, storeFailed, throttled == null ? List.of() : throttled,
        quotaDecision);
  }

  /**
   * The status of the descriptor that carries the tenant: the tightest of its own and the quota's
   * limits (see the class comment).
   */
  private DescriptorStatus withQuota(DescriptorStatus own, QuotaHit hit, QuotaOutcome outcome, boolean storeFailed) {
    DescriptorStatus tightest = own.currentLimit() == null ? null : own;
    if (storeFailed || outcome == null) {
      if (options.failureMode() == FailureMode.DENY && tightest == null) {
        QuotaLimit first = hit.quota().limits().getFirst();
        Duration reset = Duration.ofMillis(QuotaCounters.slots("", hit, clock.millis(), 0)[0].resetEmptyMillis());
        return new DescriptorStatus(Code.OVER_LIMIT, currentLimit(first), 0, reset);
      }
      return own;
    }
    // The tightest is chosen first and only its status built: this runs for every request of a tenant.
    List<QuotaOutcome.LimitUsage> usages = outcome.limits();
    int best = -1; // -1: own
    Code bestCode = own.code();
    long bestRemaining = own.limitRemaining();
    for (int i = 0; i < usages.size(); i++) {
      QuotaOutcome.LimitUsage usage = usages.get(i);
      Code code = !outcome.admitted() && usage.limit().hard() && usage.over() ? Code.OVER_LIMIT : Code.OK;
      long remaining = usage.remaining();
      if (best < 0 && tightest == null || tighter(code, remaining, bestCode, bestRemaining)) {
        best = i;
        bestCode = code;
        bestRemaining = remaining;
      }
    }
    if (best < 0) {
      return own;
    }
    QuotaOutcome.LimitUsage usage = usages.get(best);
    return new DescriptorStatus(bestCode, currentLimit(usage.limit()), bestRemaining,
        Duration.ofMillis(usage.resetMillis()));
  }

  /** An OVER_LIMIT status is tighter than an OK one; else the one with less remaining (the current one on a tie). */
  private static boolean tighter(Code code, long remaining, Code currentCode, long currentRemaining) {
    if (code != currentCode) {
      return code == Code.OVER_LIMIT;
    }
    return remaining < currentRemaining;
  }

  private static CurrentLimit currentLimit(QuotaLimit limit) {
    return new CurrentLimit(limit.amount(), limit.period().reportedUnit(), limit.name());
  }

  /**
   * The hits to add to each counter going to the store: the hits asked for, unless
   * stop-incrementing is on (see the class comment), which may cost one store call to read.
   */
  private long[] hitsToAdd(String domain, CounterKey[] keys, long[] hits, RateLimit[] limits, boolean[] cachedOver,
      boolean anyCachedOver, Instant now) {
    if (!options.stopIncrementWhenOverLimit()) {
      return hits;
    }
    long[] added = new long[hits.length];
    if (anyCachedOver) {
      return added; // all zero: read only
    }
    Outcome[] current = count(domain, keys, limits, added, cachedOver, now);
    boolean anyWouldExceed = false;
    boolean[] wouldExceed = new boolean[hits.length];
    for (int i = 0; i < hits.length; i++) {
      if (keys[i] != null && !cachedOver[i] && current[i].count() + hits[i] > current[i].capacity()) {
        wouldExceed[i] = true;
        anyWouldExceed = true;
      }
    }
    for (int i = 0; i < hits.length; i++) {
      added[i] = !anyWouldExceed || wouldExceed[i] ? hits[i] : 0;
    }
    return added;
  }

  /**
   * One store call: counts {@code add[i]} hits on every counter {@code keys[i]} that is set and
   * not cached over, each by its limit's algorithm, in request order, and returns the outcomes by
   * descriptor index (null where not counted). The only place the engine talks to the
   * {@link CounterStore}; timed per domain.
   */
  private Outcome[] count(String domain, CounterKey[] keys, RateLimit[] limits, long[] add, boolean[] cachedOver,
      Instant now) {
    return count(domain, keys, limits, add, cachedOver, now, null).outcomes();
  }

  private CounterStore.Answer count(String domain, CounterKey[] keys, RateLimit[] limits, long[] add,
      boolean[] cachedOver, Instant now, QuotaHit quota) {
    List<Hit> batch = new ArrayList<>(keys.length);
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null && !cachedOver[i]) {
        batch.add(Hit.of(keys[i], limits[i], add[i]));
      }
    }
    long started = clock.nanoTime();
    Outcome[] results;
    CounterStore.Answer answer;
    try {
      if (quota == null) {
        results = store.hit(batch, now.toEpochMilli());
        answer = null;
      } else {
        answer = store.hit(batch, quota, now.toEpochMilli());
        results = answer.outcomes();
      }
    } finally {
      metrics.storeLatency(domain, clock.nanoTime() - started);
    }
    Outcome[] outcomes = new Outcome[keys.length];
    for (int i = 0, b = 0; i < keys.length; i++) {
      if (keys[i] != null && !cachedOver[i]) {
        outcomes[i] = results[b++];
      }
    }
    return new CounterStore.Answer(outcomes, answer == null ? null : answer.quota());
  }

  /**
   * Upstream's stats for one limit counted in the store (see the class comment); {@code rpu} is
   * what the count is compared with: the limit, or a token bucket's burst.
   */
  private void countStats(RateLimitMetrics.LimitStats stats, boolean shadowMode, long rpu, long hits, long before,
      long count) {
    long near = (long) Math.floor((float) rpu * nearLimitRatio);
    if (count > rpu) {
      long overHits = before >= rpu ? hits : count - rpu;
      stats.overLimit(overHits);
      if (before < rpu) {
        stats.nearLimit(rpu - Math.max(near, before));
      }
      if (shadowMode) {
        stats.shadowMode(overHits);
      }
    } else {
      if (count > near) {
        stats.nearLimit(before >= near ? hits : count - near);
      }
      stats.withinLimit(hits);
    }
  }

  /** Only fixed windows stay over until their window ends. */
  private static boolean cacheable(RateLimit limit) {
    return limit.algorithm() == Algorithm.FIXED_WINDOW;
  }

  /**
   * Reads a tenant's usage of every limit of the quota that applies to it, counting nothing: the
   * admin API's usage read. Unlike {@link #decide}, a store failure throws.
   *
   * @return the usage, or null when no quota applies (none, or the tenant is unlimited)
   * @throws StoreException when the store cannot answer
   */
  public QuotaOutcome quotaUsage(String tenant) {
    Objects.requireNonNull(tenant, "tenant");
    TenantQuota quota = quotas.get().applicable(tenant);
    if (quota == null) {
      return null;
    }
    return store.hit(List.of(), new QuotaHit(tenant, quota, 0), clock.millis()).quota();
  }

  /**
   * Sets a tenant's usage of every limit of its quota back to 0 for the current periods (the
   * admin API's reset). Unlike {@link #decide}, a store failure throws.
   *
   * @return false when no quota applies to the tenant (nothing to reset)
   * @throws StoreException when the store cannot answer
   */
  public boolean resetQuotaUsage(String tenant) {
    Objects.requireNonNull(tenant, "tenant");
    TenantQuota quota = quotas.get().applicable(tenant);
    if (quota == null) {
      return false;
    }
    store.resetQuota(new QuotaHit(tenant, quota, 0), clock.millis());
    return true;
  }

  /** Ranks the tenants for the per-tenant quota meters (the top N); the server calls it on its schedule. */
  public void publishQuotaMeters() {
    tenantMeters.publish();
  }

  /** What a store failure is answered with. */
  public FailureMode failureMode() {
    return options.failureMode();
  }

  /** The options this engine decides with. */
  public EngineOptions options() {
    return options;
  }

  /** Store failures answered by the failure mode since start. */
  public long storeErrors() {
    return storeErrors.sum();
  }

  /** Entries in the local over-limit cache (0 when it is off). */
  long localCacheSize() {
    return localCache == null ? 0 : localCache.size();
  }
}

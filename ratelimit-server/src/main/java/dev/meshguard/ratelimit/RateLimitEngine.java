package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
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
 *   <li>the other limits are counted in one store call, in request order, in fixed windows
 *       aligned to Unix time ({@code start = now - now % window}); every matched descriptor is
 *       incremented, also when another one, or itself, is over, unless
 *       {@link EngineOptions#stopIncrementWhenOverLimit()} is on (below);
 *   <li>over means count after the increment &gt; {@code requests_per_unit}; remaining is limit
 *       minus count, floored at 0; {@code duration_until_reset} is {@code window - now % window};
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
 * with this request's hits, only those are incremented and the others read. It takes two store
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
 * <p>Not yet: the sliding-window and token-bucket algorithms, which are counted as fixed windows
 * here (and are never put in the local cache). Never throws for a request: a store failure is
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
      long window = limit.windowSeconds();
      Descriptor descriptor = descriptors.get(i);
      keys[i] = CounterKey.of(domain, descriptor.entries(), now - Math.floorMod(now, window), window);
      hits[i] = descriptor.hitsAddend() == Descriptor.UNSET ? requestHits : descriptor.hitsAddend();
      stats[i] = metrics.stats(domain, limit, descriptor);
      stats[i].totalHits(hits[i]);
      if (localCache != null && cacheable(limit) && localCache.isOver(keys[i], limit.requestsPerUnit())) {
        cachedOver[i] = true;
        anyCachedOver = true;
      } else {
        toStore++;
      }
    }

    // The store: counts[i] after adding added[i] to counter i, for every counter not cached over.
    long[] counts = null;
    long[] added = null;
    boolean storeFailed = false;
    if (toStore > 0) {
      try {
        added = hitsToAdd(domain, keys, hits, limits, cachedOver, anyCachedOver);
        counts = count(domain, keys, added, cachedOver);
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
          long count = counts[i];
          long before = Math.max(0, count - hits[i]);
          boolean over = count > rpu;
          countStats(stats[i], limit, hits[i], before, count);
          if (over && localCache != null && cacheable(limit)) {
            localCache.put(keys[i], count, instant);
          }
          Code code = over && !limit.shadowMode() ? Code.OVER_LIMIT : Code.OK;
          status = new DescriptorStatus(code, current, Math.max(0, rpu - count), reset);
          if (code == Code.OVER_LIMIT && added[i] > 0 && count - added[i] <= rpu) {
            // This request's hits carried the count across the limit (reads never do).
            if (throttled == null) {
              throttled = new ArrayList<>(1);
            }
            throttled.add(i);
          }
        }
      }
      if (status.code() == Code.OVER_LIMIT) {
        overall = Code.OVER_LIMIT;
      }
      statuses.add(status);
    }
    if (overall == Code.OVER_LIMIT && options.shadowMode()) {
      // Upstream's SHADOW_MODE: the statuses stay as they are; nothing is denied, so nothing is
      // reported as throttled either.
      overall = Code.OK;
      metrics.globalShadowMode();
      throttled = null;
    }
    return new RateLimitDecision(overall, statuses, storeFailed, throttled == null ? List.of() : throttled);
  }

  /**
   * The hits to add to each counter going to the store: the hits asked for, unless
   * stop-incrementing is on (see the class comment), which may cost one store call to read.
   */
  private long[] hitsToAdd(String domain, CounterKey[] keys, long[] hits, RateLimit[] limits, boolean[] cachedOver,
      boolean anyCachedOver) {
    if (!options.stopIncrementWhenOverLimit()) {
      return hits;
    }
    long[] added = new long[hits.length];
    if (anyCachedOver) {
      return added; // all zero: read only
    }
    long[] current = count(domain, keys, added, cachedOver);
    boolean anyWouldExceed = false;
    boolean[] wouldExceed = new boolean[hits.length];
    for (int i = 0; i < hits.length; i++) {
      if (keys[i] != null && current[i] + hits[i] > limits[i].requestsPerUnit()) {
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
   * One store call: adds {@code add[i]} to every counter {@code keys[i]} that is set and not
   * cached over, in request order, and returns the counts by descriptor index (0 where not
   * counted). The only place the engine talks to the {@link CounterStore}; timed per domain.
   */
  private long[] count(String domain, CounterKey[] keys, long[] add, boolean[] cachedOver) {
    List<CounterKey> batch = new ArrayList<>(keys.length);
    long[] batchHits = new long[keys.length];
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null && !cachedOver[i]) {
        batchHits[batch.size()] = add[i];
        batch.add(keys[i]);
      }
    }
    long started = clock.nanoTime();
    long[] results;
    try {
      results = store.incrementAndGet(batch, Arrays.copyOf(batchHits, batch.size()));
    } finally {
      metrics.storeLatency(domain, clock.nanoTime() - started);
    }
    long[] counts = new long[keys.length];
    for (int i = 0, b = 0; i < keys.length; i++) {
      if (keys[i] != null && !cachedOver[i]) {
        counts[i] = results[b++];
      }
    }
    return counts;
  }

  /** Upstream's stats for one limit counted in the store (see the class comment). */
  private void countStats(RateLimitMetrics.LimitStats stats, RateLimit limit, long hits, long before, long count) {
    long rpu = limit.requestsPerUnit();
    long near = (long) Math.floor((float) rpu * nearLimitRatio);
    if (count > rpu) {
      long overHits = before >= rpu ? hits : count - rpu;
      stats.overLimit(overHits);
      if (before < rpu) {
        stats.nearLimit(rpu - Math.max(near, before));
      }
      if (limit.shadowMode()) {
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

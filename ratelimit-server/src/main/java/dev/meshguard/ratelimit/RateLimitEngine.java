package dev.meshguard.ratelimit;

import dev.meshguard.core.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Decides one {@code ShouldRateLimit} request the way envoyproxy/ratelimit does
 * ({@code src/service/ratelimit.go}, {@code src/limiter/base_limiter.go}):
 *
 * <ol>
 *   <li>each descriptor is matched independently ({@link RateLimitConfig#getLimit});
 *   <li>{@code replaces}: the names in the {@code replaces} of every matched limit (unlimited ones
 *       too) are collected, and any matched limit with such a name is dropped: not counted, OK
 *       with no limit;
 *   <li>{@code unlimited} limits never touch the store: OK, no limit, remaining UINT32_MAX;
 *   <li>the other limits are counted in one store call, in request order, each by its
 *       {@link Algorithm}; by default in fixed windows aligned to Unix time
 *       ({@code start = now - now % window}), where every matched descriptor is incremented,
 *       also when another one, or itself, is over;
 *   <li>over, remaining and {@code duration_until_reset} are the store's {@link Outcome}: for a
 *       fixed window, over means count after the increment &gt; {@code requests_per_unit},
 *       remaining is limit minus count, floored at 0, and the reset is
 *       {@code window - now % window};
 *   <li>{@code shadow_mode}: an over-limit status is reported OK (keeping its limit, and 0
 *       remaining); {@code overall_code} is OVER_LIMIT if any status is.
 * </ol>
 *
 * <p>Hits: the request-level {@code hits_addend} of 0 means 1; a descriptor's own
 * {@code hits_addend}, when set, replaces it and may be 0 to check without incrementing.
 *
 * <p>A descriptor's own {@code limit} ({@code RateLimitOverride}) is used instead of the
 * configured one when the domain exists, as upstream does; an unknown domain still gets no limit.
 *
 * <p>Not yet: global shadow mode, stop-incrementing-when-over and
 * stats. Never throws for a request: a store failure is answered by the {@link FailureMode}.
 */
public final class RateLimitEngine {

  private final Supplier<RateLimitConfig> config;
  private final CounterStore store;
  private final Clock clock;
  private final FailureMode failureMode;
  private final LongAdder storeErrors = new LongAdder();

  /**
   * @param config the current snapshot, read once per request (e.g. {@code AtomicReference::get})
   */
  public RateLimitEngine(Supplier<RateLimitConfig> config, CounterStore store, Clock clock, FailureMode failureMode) {
    this.config = Objects.requireNonNull(config, "config");
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.failureMode = Objects.requireNonNull(failureMode, "failureMode");
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

    long nowMillis = clock.millis();
    long now = Math.floorDiv(nowMillis, 1000);
    List<Hit> hits = new ArrayList<>(n);
    int[] counted = new int[n];
    for (int i = 0; i < n; i++) {
      RateLimit limit = limits[i];
      if (limit == null || limit.unlimited()) {
        continue;
      }
      Descriptor descriptor = descriptors.get(i);
      long addend = descriptor.hitsAddend() == Descriptor.UNSET ? requestHits : descriptor.hitsAddend();
      hits.add(Hit.of(CounterKey.of(domain, descriptor.entries()), limit, addend));
      counted[i] = hits.size();
    }
    Outcome[] outcomes = null;
    boolean storeFailed = false;
    if (!hits.isEmpty()) {
      try {
        outcomes = store.hit(hits, nowMillis);
      } catch (RuntimeException e) {
        // Any store failure, not just StoreException: the request path never throws.
        storeErrors.increment();
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
        CurrentLimit current = new CurrentLimit(limit.requestsPerUnit(), limit.unit(), limit.name());
        if (storeFailed) {
          long window = limit.windowSeconds();
          Duration reset = Duration.ofSeconds(window - Math.floorMod(now, window));
          status = failureMode == FailureMode.ALLOW
              ? new DescriptorStatus(Code.OK, current, limit.requestsPerUnit(), reset)
              : new DescriptorStatus(Code.OVER_LIMIT, current, 0, reset);
        } else {
          Outcome outcome = outcomes[counted[i] - 1];
          Code code = outcome.over() && !limit.shadowMode() ? Code.OVER_LIMIT : Code.OK;
          status = new DescriptorStatus(code, current, outcome.remaining(), Duration.ofMillis(outcome.resetMillis()));
          if (code == Code.OVER_LIMIT && outcome.firstOver()) {
            // This request is the counter's first refused one in its window (or, for a token
            // bucket, since the last admitted one); check-only hits of 0 never are.
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
    return new RateLimitDecision(overall, statuses, storeFailed, throttled == null ? List.of() : throttled);
  }

  /** What a store failure is answered with. */
  public FailureMode failureMode() {
    return failureMode;
  }

  /** Store failures answered by the failure mode since start. */
  public long storeErrors() {
    return storeErrors.sum();
  }
}

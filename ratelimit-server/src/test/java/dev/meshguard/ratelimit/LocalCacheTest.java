package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The local over-limit cache beyond upstream's own tests (those are in {@link UpstreamStatsTest}):
 * its lifetime, its bound, what it must not answer, and store failures. Time moves by the
 * injected clock only.
 */
class LocalCacheTest {

  static final String CONFIG = """
      domain: d
      descriptors:
        - {key: k, rate_limit: {unit: minute, requests_per_unit: 2}}
        - {key: sliding, rate_limit: {unit: minute, requests_per_unit: 2, algorithm: sliding_window}}
      """;

  /** 20 s into a minute. */
  static final long NOW = 1_700_000_000L - 1_700_000_000L % 60 + 20;

  static EngineFixture fixture(int entries) throws Exception {
    return new EngineFixture(CONFIG, EngineOptions.DEFAULTS.withLocalCacheMaxEntries(entries), NOW);
  }

  static DescriptorStatus hit(EngineFixture f, Descriptor descriptor) {
    return f.decide(descriptor).statuses().get(0);
  }

  @Test
  void anOverKeyIsAnsweredLocallyUntilItsWindowEnds() throws Exception {
    EngineFixture f = fixture(100);
    for (int i = 0; i < 3; i++) {
      hit(f, Descriptor.of("k", "a"));
    }
    assertThat(f.count("k", "a", RateLimitUnit.MINUTE)).isEqualTo(3);
    assertThat(f.engine.localCacheSize()).isEqualTo(1);
    f.clock.advance(Duration.ofSeconds(39));
    assertThat(hit(f, Descriptor.of("k", "a")).code()).isEqualTo(Code.OVER_LIMIT);
    assertThat(hit(f, Descriptor.of("k", "a")).durationUntilReset()).isEqualTo(Duration.ofSeconds(1));
    assertThat(f.count("k", "a", RateLimitUnit.MINUTE)).as("answered without the store").isEqualTo(3);

    f.clock.advance(Duration.ofSeconds(1)); // the next window
    DescriptorStatus fresh = hit(f, Descriptor.of("k", "a"));
    assertThat(fresh.code()).isEqualTo(Code.OK);
    assertThat(fresh.limitRemaining()).isEqualTo(1);
    assertThat(f.engine.localCacheSize()).as("the entry expired with its window").isZero();
  }

  @Test
  void aHigherLimitOnTheSameCounterIsNotAnsweredFromTheCache() throws Exception {
    // meshguard: upstream caches the key alone, so a low limit poisons it for a higher request
    // override in the same window (envoyproxy/ratelimit#1077); here the cached count must exceed
    // the limit applied now.
    EngineFixture f = fixture(100);
    for (int i = 0; i < 3; i++) {
      hit(f, Descriptor.of("k", "a"));
    }
    DescriptorStatus raised = hit(f, Descriptor.of("k", "a")
        .withLimit(new Descriptor.LimitOverride(10, RateLimitUnit.MINUTE)));
    assertThat(raised.code()).isEqualTo(Code.OK);
    assertThat(raised.limitRemaining()).isEqualTo(6);
    assertThat(hit(f, Descriptor.of("k", "a")).code()).as("the configured limit is still over").isEqualTo(
        Code.OVER_LIMIT);
  }

  @Test
  void slidingWindowsAndTokenBucketsAreNeverCached() throws Exception {
    EngineFixture f = fixture(100);
    for (int i = 0; i < 4; i++) {
      hit(f, Descriptor.of("sliding", "a"));
    }
    assertThat(f.registry.find("meshguard.ratelimit.store.latency").timer().count())
        .as("every hit reached the store").isEqualTo(4);
    assertThat(f.count("sliding", "a", RateLimitUnit.MINUTE, Algorithm.SLIDING_WINDOW))
        .as("a sliding window counts admitted hits only").isEqualTo(2);
    assertThat(f.engine.localCacheSize()).isZero();
  }

  @Test
  void offWithZeroEntries() throws Exception {
    EngineFixture f = fixture(0);
    for (int i = 0; i < 4; i++) {
      hit(f, Descriptor.of("k", "a"));
    }
    assertThat(f.count("k", "a", RateLimitUnit.MINUTE)).isEqualTo(4);
    assertThat(f.stat("over_limit_with_local_cache", "k")).isZero();
  }

  @Test
  void boundedByMaxEntries() throws Exception {
    EngineFixture f = fixture(2);
    for (String value : List.of("a", "b", "c", "d", "e")) {
      for (int i = 0; i < 3; i++) {
        hit(f, Descriptor.of("k", value));
      }
    }
    assertThat(f.engine.localCacheSize()).isLessThanOrEqualTo(2);
    for (String value : List.of("a", "b", "c", "d", "e")) {
      assertThat(hit(f, Descriptor.of("k", value)).code()).as("evicted or not, %s is over", value)
          .isEqualTo(Code.OVER_LIMIT);
    }
  }

  @Test
  void aCachedKeyIsStillOverWhenTheStoreFails() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    ManualClock clock = new ManualClock(Instant.ofEpochSecond(NOW));
    MemoryStore store = new MemoryStore(clock, 1); // room for one counter: a second one fails
    RateLimitEngine engine = new RateLimitEngine(() -> config, store, clock, EngineOptions.DEFAULTS,
        new SimpleMeterRegistry());
    for (int i = 0; i < 3; i++) {
      engine.decide("d", List.of(Descriptor.of("k", "a")), 1);
    }
    RateLimitDecision d = engine.decide("d", List.of(Descriptor.of("k", "a"), Descriptor.of("k", "b")), 1);
    assertThat(d.storeFailed()).isTrue();
    assertThat(d.statuses()).extracting(DescriptorStatus::code)
        .as("a from the cache; b by the failure mode (allow)").containsExactly(Code.OVER_LIMIT, Code.OK);
    assertThat(d.overallCode()).isEqualTo(Code.OVER_LIMIT);
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link RateLimitDecision#throttled()}: exactly the request that carries a counter over its limit. */
class ThrottledTest {
  static final String CONFIG = """
      domain: d
      descriptors:
        - key: k
          rate_limit: {unit: minute, requests_per_unit: 3}
        - key: shadow
          shadow_mode: true
          rate_limit: {unit: minute, requests_per_unit: 1}
      """;

  private final ManualClock clock = new ManualClock(Instant.ofEpochSecond(1_700_000_000L));

  private RateLimitEngine engine() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    return new RateLimitEngine(() -> config, new MemoryStore(clock), clock, FailureMode.ALLOW);
  }

  @Test
  void onlyTheCrossingRequestOfEachWindow() throws Exception {
    RateLimitEngine engine = engine();
    List<Descriptor> k = List.of(Descriptor.of("k", "a"));
    assertThat(engine.decide("d", k, 1).throttled()).isEmpty();
    assertThat(engine.decide("d", k, 2).throttled()).as("count 3: at the limit, not over").isEmpty();
    assertThat(engine.decide("d", k, 1).throttled()).as("count 4 crosses").containsExactly(0);
    assertThat(engine.decide("d", k, 1).throttled()).as("already over").isEmpty();
    assertThat(engine.decide("d", List.of(Descriptor.of("k", "a").withHitsAddend(0)), 1).throttled()).isEmpty();
    clock.advance(Duration.ofMinutes(1));
    assertThat(engine.decide("d", k, 5).throttled()).as("a new window, crossed in one request").containsExactly(0);
  }

  @Test
  void onlyTheDescriptorThatCrossesAndNeverShadowMode() throws Exception {
    RateLimitEngine engine = engine();
    List<Descriptor> request = List.of(Descriptor.of("shadow", "x"), Descriptor.of("k", "b"), Descriptor.of("k", "c"));
    engine.decide("d", List.of(Descriptor.of("k", "c")), 3);
    RateLimitDecision first = engine.decide("d", request, 1);
    assertThat(first.throttled()).containsExactly(2);
    RateLimitDecision second = engine.decide("d", request, 1);
    assertThat(second.statuses().get(0).limitRemaining()).as("the shadow counter is over").isZero();
    assertThat(second.throttled()).isEmpty();
  }

  @Test
  void onceAlsoWhenStoppingIncrementsOrAnsweringFromTheLocalCache() throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    for (EngineOptions options : List.of(EngineOptions.DEFAULTS.withLocalCacheMaxEntries(0),
        EngineOptions.DEFAULTS.withStopIncrementWhenOverLimit(true),
        EngineOptions.DEFAULTS.withStopIncrementWhenOverLimit(true).withLocalCacheMaxEntries(0))) {
      RateLimitEngine engine = new RateLimitEngine(() -> config, new MemoryStore(clock), clock, options,
          new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
      List<Descriptor> request = List.of(Descriptor.of("k", "x"), Descriptor.of("k", "y"));
      int crossings = 0;
      for (int i = 0; i < 8; i++) {
        crossings += engine.decide("d", request, 1).throttled().size();
      }
      assertThat(crossings).as("each of the two counters crosses once; %s", options).isEqualTo(2);
    }
  }
}

package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EngineFixture.stats;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.Test;

/**
 * {@code stop_increment_when_over_limit}, upstream's {@code STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT}:
 * the steps and expected statuses and stats of envoyproxy/ratelimit's
 * {@code TestOverLimitWithStopCacheKeyIncrementWhenOverlimitConfig}
 * ({@code test/redis/fixed_cache_impl_test.go}; local cache on, near ratio 0.8, per-descriptor
 * {@code hits_addend}s), run on the memory store; the rule is {@code getHitsAddend} in
 * {@code src/redis/fixed_cache_impl.go}.
 */
class StopIncrementTest {

  static final String CONFIG = """
      domain: domain
      descriptors:
        - {key: key4, value: value4, rate_limit: {unit: hour, requests_per_unit: 15}}
        - {key: key5, value: value5, rate_limit: {unit: hour, requests_per_unit: 14}}
      """;

  static EngineFixture fixture(boolean stop) throws Exception {
    EngineFixture f = new EngineFixture(CONFIG, EngineOptions.DEFAULTS.withStopIncrementWhenOverLimit(stop), 1_000_000);
    // Upstream's first GETs return 10 for both keys.
    f.preload("key4", "value4", 10);
    f.preload("key5", "value5", 10);
    return f;
  }

  static RateLimitDecision both(EngineFixture f, long hits) {
    return f.decide(Descriptor.of("key4", "value4").withHitsAddend(hits),
        Descriptor.of("key5", "value5").withHitsAddend(hits));
  }

  @Test
  void onlyTheDescriptorThatWouldGoOverIsCharged() throws Exception {
    EngineFixture f = fixture(true);

    RateLimitDecision first = both(f, 1);
    assertThat(first.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OK);
    assertThat(first.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(4L, 3L);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(1, 0, 0, 1, 0, 0));
    assertThat(f.stats("key5_value5")).isEqualTo(stats(1, 0, 0, 1, 0, 0));

    // "Some hits at Near Limit Ratio, but still OK."
    RateLimitDecision second = both(f, 2);
    assertThat(second.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(2L, 1L);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(3, 0, 1, 3, 0, 0));
    assertThat(f.stats("key5_value5")).isEqualTo(stats(3, 0, 2, 3, 0, 0));

    // "Test one key is reaching to the Overlimit threshold": key5 would reach 15 > 14, so only it is
    // incremented; key4 (13 + 2 = 15, not over 15) is read with INCRBY 0 and reports its count.
    RateLimitDecision third = both(f, 2);
    assertThat(third.overallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(third.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OVER_LIMIT);
    assertThat(third.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(2L, 0L);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(5, 0, 2, 5, 0, 0));
    assertThat(f.stats("key5_value5")).isEqualTo(stats(5, 1, 3, 3, 0, 0));
    assertThat(f.count("key4", "value4", RateLimitUnit.HOUR)).as("key4 not charged").isEqualTo(13);
    assertThat(f.count("key5", "value5", RateLimitUnit.HOUR)).isEqualTo(15);
    Timer calls = f.registry.find("meshguard.ratelimit.store.latency").timer();
    assertThat(calls.count()).as("a read and an increment per request, as upstream's GET and INCRBY pipelines")
        .isEqualTo(6);
  }

  @Test
  void aKeyOverInTheLocalCacheStopsEveryOtherIncrement() throws Exception {
    // getHitsAddend: "one of the keys is over limit [in the local cache], then we do not increment".
    EngineFixture f = fixture(true);
    both(f, 1);
    both(f, 2);
    both(f, 2); // key5 goes over and into the local cache
    RateLimitDecision fourth = both(f, 1);
    assertThat(fourth.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OVER_LIMIT);
    assertThat(fourth.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(2L, 0L);
    assertThat(f.count("key4", "value4", RateLimitUnit.HOUR)).isEqualTo(13);
    assertThat(f.count("key5", "value5", RateLimitUnit.HOUR)).as("not sent to the store").isEqualTo(15);
    assertThat(f.stats("key5_value5")).isEqualTo(stats(6, 2, 3, 3, 0, 1));
    assertThat(f.registry.find("meshguard.ratelimit.store.latency").timer().count())
        .as("no read first: the local cache already decided").isEqualTo(7);
  }

  @Test
  void offByDefaultEveryDescriptorIsCharged() throws Exception {
    // The default (false): getHitsAddend returns the hits for every key.
    assertThat(EngineOptions.DEFAULTS.stopIncrementWhenOverLimit()).isFalse();
    EngineFixture f = fixture(false);
    both(f, 1);
    both(f, 2);
    RateLimitDecision third = both(f, 2);
    assertThat(third.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OVER_LIMIT);
    assertThat(third.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(0L, 0L);
    assertThat(f.count("key4", "value4", RateLimitUnit.HOUR)).isEqualTo(15);
    assertThat(f.registry.find("meshguard.ratelimit.store.latency").timer().count()).isEqualTo(3);
  }
}

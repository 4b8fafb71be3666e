package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.EngineFixture.stats;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The per-limit stats (total_hits, over_limit, near_limit, within_limit, shadow_mode,
 * over_limit_with_local_cache) and statuses, step by step as envoyproxy/ratelimit's own tests
 * check them in {@code test/redis/fixed_cache_impl_test.go}: {@code TestNearLimit},
 * {@code testRedis}, {@code TestOverLimitWithLocalCache},
 * {@code TestOverLimitWithLocalCacheShadowRule}. Where upstream's mocked Redis returns a count,
 * the counter is first brought to (that count minus this request's hits) by a second engine on
 * the same store, whose stats are its own. Near-limit ratio 0.8 and the Unix times (1000000 for
 * hour limits) as upstream's tests; expected values are upstream's assertions.
 */
class UpstreamStatsTest {

  static final String CONFIG = """
      domain: domain
      descriptors:
        - {key: key3, value: value3, rate_limit: {unit: hour, requests_per_unit: 10}}
        - {key: key4, value: value4, rate_limit: {unit: hour, requests_per_unit: 15}}
        - {key: key5, value: value5, rate_limit: {unit: second, requests_per_unit: 20}}
        - {key: key6, value: value6, rate_limit: {unit: second, requests_per_unit: 8}}
        - {key: key7, value: value7, rate_limit: {unit: second, requests_per_unit: 20}}
        - {key: key8, value: value8, rate_limit: {unit: second, requests_per_unit: 20}}
        - {key: key9, value: value9, rate_limit: {unit: second, requests_per_unit: 20}}
        - {key: key10, value: value10, rate_limit: {unit: second, requests_per_unit: 10}}
        - {key: shadow4, value: value4, shadow_mode: true, rate_limit: {unit: hour, requests_per_unit: 15}}
      """;

  static final long NOW = 1_000_000;

  /** Upstream's caches in these tests: no local cache ({@code nil}) or freecache of 100 bytes. */
  static EngineFixture fixture(boolean localCache) throws Exception {
    return new EngineFixture(CONFIG, EngineOptions.DEFAULTS.withLocalCacheMaxEntries(localCache ? 100 : 0), NOW);
  }

  /**
   * {@code TestNearLimit}, "Now test hitsAddend that is greater than 1": one request of
   * {@code hits} on a counter Redis then reports at {@code countAfter}.
   */
  static Stream<Arguments> hitsAddendCases() {
    return Stream.of(
        // key, hits, count after, code, remaining, then over_limit, near_limit, within_limit
        Arguments.of("all of it under limit, under near limit", "key5", 3, 5, Code.OK, 15, 0, 0, 3),
        Arguments.of("all of it under limit, some over near limit", "key6", 2, 7, Code.OK, 1, 0, 1, 2),
        Arguments.of("all of it under limit, all of it over near limit", "key7", 3, 19, Code.OK, 1, 0, 3, 3),
        Arguments.of("some of it over limit, all of it over near limit", "key8", 3, 22, Code.OVER_LIMIT, 0, 2, 1, 0),
        Arguments.of("some of it in all three places", "key9", 7, 22, Code.OVER_LIMIT, 0, 2, 4, 0),
        Arguments.of("all of it over limit", "key10", 3, 30, Code.OVER_LIMIT, 0, 3, 0, 0));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hitsAddendCases")
  void hitsAddendSplitsAcrossWithinNearAndOver(String name, String key, int hits, int countAfter, Code code,
      int remaining, int over, int near, int within) throws Exception {
    EngineFixture f = fixture(false);
    String value = key.replace("key", "value");
    f.preload(key, value, countAfter - hits);
    RateLimitDecision d = f.engine.decide("domain", List.of(Descriptor.of(key, value)), hits);
    assertThat(d.statuses().get(0).code()).isEqualTo(code);
    assertThat(d.statuses().get(0).limitRemaining()).isEqualTo(remaining);
    assertThat(f.stats(key + "_" + value)).isEqualTo(stats(hits, over, near, within, 0, 0));
  }

  @Test
  void nearLimitCountsOnlyUpToTheLimit() throws Exception {
    // TestNearLimit, first three steps: limit 15/hour, near threshold floor(15 * 0.8) = 12.
    EngineFixture f = fixture(false);
    f.preload("key4", "value4", 10);
    assertThat(f.decide(Descriptor.of("key4", "value4")).statuses().get(0).limitRemaining()).isEqualTo(4);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(1, 0, 0, 1, 0, 0));

    f.preload("key4", "value4", 1);
    assertThat(f.decide(Descriptor.of("key4", "value4")).statuses().get(0).limitRemaining()).isEqualTo(2);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(2, 0, 1, 2, 0, 0));

    // "We went OVER_LIMIT, but the near_limit counter only increases when we are near limit."
    f.preload("key4", "value4", 2);
    DescriptorStatus over = f.decide(Descriptor.of("key4", "value4")).statuses().get(0);
    assertThat(over.code()).isEqualTo(Code.OVER_LIMIT);
    assertThat(over.limitRemaining()).isZero();
    assertThat(f.stats("key4_value4")).isEqualTo(stats(3, 1, 1, 2, 0, 0));
  }

  @Test
  void aCheckOnlyDescriptorCountsNoHits() throws Exception {
    // testRedis, third step: key3 (10/hour) at 11 with a per-descriptor hits_addend of 0.
    EngineFixture f = fixture(false);
    f.preload("key3", "value3", 11);
    DescriptorStatus status = f.decide(Descriptor.of("key3", "value3").withHitsAddend(0)).statuses().get(0);
    assertThat(status.code()).isEqualTo(Code.OVER_LIMIT);
    assertThat(status.limitRemaining()).isZero();
    assertThat(f.stats("key3_value3")).isEqualTo(stats(0, 0, 0, 0, 0, 0));
    assertThat(f.count("key3", "value3", RateLimitUnit.HOUR)).as("nothing added").isEqualTo(11);
  }

  @Test
  void overLimitWithLocalCache() throws Exception {
    // TestOverLimitWithLocalCache.
    EngineFixture f = fixture(true);
    f.preload("key4", "value4", 10);
    assertThat(f.decide(Descriptor.of("key4", "value4")).statuses().get(0).limitRemaining()).isEqualTo(4);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(1, 0, 0, 1, 0, 0));
    f.preload("key4", "value4", 1);
    assertThat(f.decide(Descriptor.of("key4", "value4")).statuses().get(0).limitRemaining()).isEqualTo(2);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(2, 0, 1, 2, 0, 0));
    f.preload("key4", "value4", 2);
    assertThat(f.decide(Descriptor.of("key4", "value4")).statuses().get(0).code()).isEqualTo(Code.OVER_LIMIT);
    assertThat(f.stats("key4_value4")).isEqualTo(stats(3, 1, 1, 2, 0, 0));
    assertThat(f.count("key4", "value4", RateLimitUnit.HOUR)).isEqualTo(16);

    // "Test Over limit stats with local cache": no INCRBY (the count stays 16), over from the cache.
    DescriptorStatus cached = f.decide(Descriptor.of("key4", "value4")).statuses().get(0);
    assertThat(cached).isEqualTo(new DescriptorStatus(Code.OVER_LIMIT, new CurrentLimit(15, RateLimitUnit.HOUR, ""), 0,
        Duration.ofSeconds(3600 - NOW % 3600)));
    assertThat(f.stats("key4_value4")).isEqualTo(stats(4, 2, 1, 2, 0, 1));
    assertThat(f.count("key4", "value4", RateLimitUnit.HOUR)).as("not incremented").isEqualTo(16);
  }

  @Test
  void overLimitWithLocalCacheShadowRule() throws Exception {
    // TestOverLimitWithLocalCacheShadowRule: the same steps on a shadow_mode limit.
    EngineFixture f = fixture(true);
    f.preload("shadow4", "value4", 10);
    f.decide(Descriptor.of("shadow4", "value4"));
    f.preload("shadow4", "value4", 1);
    f.decide(Descriptor.of("shadow4", "value4"));
    assertThat(f.stats("shadow4_value4")).isEqualTo(stats(2, 0, 1, 2, 0, 0));
    f.preload("shadow4", "value4", 2);
    DescriptorStatus over = f.decide(Descriptor.of("shadow4", "value4")).statuses().get(0);
    assertThat(over.code()).as("the result should be OK since limit is in shadow mode").isEqualTo(Code.OK);
    assertThat(over.limitRemaining()).isZero();
    assertThat(f.stats("shadow4_value4")).isEqualTo(stats(3, 1, 1, 2, 1, 0));

    DescriptorStatus cached = f.decide(Descriptor.of("shadow4", "value4")).statuses().get(0);
    assertThat(cached.code()).isEqualTo(Code.OK);
    assertThat(cached.limitRemaining()).isZero();
    // "Even if you hit the local cache, other metrics should increase normally."
    assertThat(f.stats("shadow4_value4")).isEqualTo(stats(4, 2, 1, 2, 2, 1));
    assertThat(f.count("shadow4", "value4", RateLimitUnit.HOUR)).isEqualTo(16);
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import org.junit.jupiter.api.Test;

/**
 * Global {@code shadow_mode} (upstream's {@code SHADOW_MODE}) and its interplay with per-rule
 * {@code shadow_mode}, as envoyproxy/ratelimit's {@code test/service/ratelimit_test.go} checks
 * them: {@code TestServiceGlobalShadowMode}, {@code TestRuleShadowMode},
 * {@code TestMixedRuleShadowMode}; the rule is in {@code shouldRateLimitWorker}
 * ({@code src/service/ratelimit.go}).
 */
class GlobalShadowModeTest {

  static final String CONFIG = """
      domain: different-domain
      descriptors:
        - {key: foo, rate_limit: {unit: minute, requests_per_unit: 10}}
        - {key: ruleshadow, shadow_mode: true, rate_limit: {unit: minute, requests_per_unit: 10}}
        - {key: other, rate_limit: {unit: minute, requests_per_unit: 10}}
      """;

  static EngineFixture fixture(boolean globalShadow) throws Exception {
    return new EngineFixture(CONFIG, EngineOptions.DEFAULTS.withShadowMode(globalShadow), 1_000_000);
  }

  static double globalShadowCount(EngineFixture f) {
    Counter counter = f.registry.find("meshguard.ratelimit.global_shadow_mode").counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void onlyTheOverallCodeIsForcedToOk() throws Exception {
    EngineFixture f = fixture(true);
    f.preload("foo", "bar", 10);
    RateLimitDecision d = f.decide(Descriptor.of("foo", "bar"), Descriptor.of("hello", "world"));
    // "OK overall code even if limit response was OVER_LIMIT"
    assertThat(d.overallCode()).isEqualTo(Code.OK);
    assertThat(d.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OVER_LIMIT, Code.OK);
    assertThat(d.statuses().get(0).currentLimit()).isEqualTo(new CurrentLimit(10, RateLimitUnit.MINUTE, ""));
    assertThat(d.statuses().get(1)).isEqualTo(DescriptorStatus.NO_LIMIT);
    assertThat(globalShadowCount(f)).isEqualTo(1);
    assertThat(d.throttled()).as("nothing is denied, so nothing is reported throttled").isEmpty();
  }

  @Test
  void notCountedWhenNothingIsOver() throws Exception {
    EngineFixture f = fixture(true);
    assertThat(f.decide(Descriptor.of("foo", "bar")).overallCode()).isEqualTo(Code.OK);
    assertThat(globalShadowCount(f)).isZero();
  }

  @Test
  void ruleShadowModeAloneIsOk() throws Exception {
    EngineFixture f = fixture(false);
    f.preload("ruleshadow", "a", 10);
    f.preload("ruleshadow", "b", 10);
    RateLimitDecision d = f.decide(Descriptor.of("ruleshadow", "a"), Descriptor.of("ruleshadow", "b"));
    assertThat(d.overallCode()).isEqualTo(Code.OK);
    assertThat(d.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OK);
    assertThat(d.statuses()).extracting(DescriptorStatus::limitRemaining).containsExactly(0L, 0L);
    assertThat(globalShadowCount(f)).isZero();
  }

  @Test
  void mixedRuleShadowModeIsOverWhenANonShadowRuleIs() throws Exception {
    EngineFixture f = fixture(false);
    f.preload("ruleshadow", "a", 10);
    f.preload("other", "b", 10);
    RateLimitDecision d = f.decide(Descriptor.of("ruleshadow", "a"), Descriptor.of("other", "b"));
    assertThat(d.overallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(d.statuses()).extracting(DescriptorStatus::code).containsExactly(Code.OK, Code.OVER_LIMIT);
    assertThat(globalShadowCount(f)).isZero();
  }
}

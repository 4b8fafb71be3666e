package dev.meshguard.ratelimit;

import static dev.meshguard.ratelimit.RateLimitUnit.DAY;
import static dev.meshguard.ratelimit.RateLimitUnit.HOUR;
import static dev.meshguard.ratelimit.RateLimitUnit.MINUTE;
import static dev.meshguard.ratelimit.RateLimitUnit.MONTH;
import static dev.meshguard.ratelimit.RateLimitUnit.SECOND;
import static dev.meshguard.ratelimit.RateLimitUnit.WEEK;
import static dev.meshguard.ratelimit.RateLimitUnit.YEAR;
import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * envoyproxy/ratelimit semantics as a table: each case is a config, a sequence of requests at
 * given Unix seconds, and the expected answers. Every expected value is taken from the upstream
 * source named in the case's comment (paths in github.com/envoyproxy/ratelimit, or the sections
 * of /work/shared/reference/ratelimit.md, which cites them), never from meshguard's own output.
 * Cases marked "meshguard" test our documented divergences or extensions.
 */
class ConformanceTest {

  // test/config/basic_config.yaml, verbatim.
  static final String BASIC = """
      # Basic configuration for testing.
      domain: test-domain
      descriptors:
        # Top level key/value with no default rate limit.
        - key: key1
          value: value1
          descriptors:
            # 2nd level key only with default rate limit.
            - key: subkey1
              rate_limit:
                unit: second
                requests_per_unit: 5

            # 2nd level key/value with limit. Specific override at 2nd level.
            - key: subkey1
              value: subvalue1
              rate_limit:
                unit: second
                requests_per_unit: 10

        # Top level key only with default rate limit.
        - key: key2
          rate_limit:
            unit: minute
            requests_per_unit: 20

        # Top level key/value with limit. Specific override at 1st level.
        - key: key2
          value: value2
          rate_limit:
            unit: minute
            requests_per_unit: 30

        - key: key3
          rate_limit:
            unit: hour
            requests_per_unit: 1

        - key: key4
          rate_limit:
            unit: day
            requests_per_unit: 1

        - key: key5
          value: value5
          rate_limit:
            unit: day
            requests_per_unit: 15
          descriptors:
            - key: subkey5
              value: subvalue5
              rate_limit:
                unit: day
                requests_per_unit: 25
      """;

  // test/config/wildcard.yaml, verbatim.
  static final String WILDCARD = """
      # Basic configuration for testing.
      domain: test-domain
      descriptors:
        - key: wild
          value: foo*
          rate_limit:
            unit: minute
            requests_per_unit: 20
        - key: noWild
          value: foo
          rate_limit:
            unit: minute
            requests_per_unit: 20
        - key: noVal
          rate_limit:
            unit: minute
            requests_per_unit: 20
        - key: midWild
          value: bar*b
          rate_limit:
            unit: minute
            requests_per_unit: 20
      """;

  // README.md "Example 2", verbatim.
  static final String README_EXAMPLE_2 = """
      domain: messaging
      descriptors:
        # Only allow 5 marketing messages a day
        - key: message_type
          value: marketing
          descriptors:
            - key: to_number
              rate_limit:
                unit: day
                requests_per_unit: 5

        # Only allow 100 messages a day to any unique phone number
        - key: to_number
          rate_limit:
            unit: day
            requests_per_unit: 100
      """;

  /** One limit on {@code key} of domain {@code domain}. */
  static String single(String unit, long requestsPerUnit, String extra) {
    return """
        domain: domain
        descriptors:
          - key: key
            rate_limit:
              unit: %s
              requests_per_unit: %d
        %s""".formatted(unit, requestsPerUnit, extra.indent(4));
  }

  static final String SINGLE_10_SECOND = single("second", 10, "");

  // ---- the DSL ----

  record Expect(Code code, CurrentLimit limit, long remaining, Duration reset) {}

  /** A request at Unix second {@code at} plus {@code millis}. */
  record Step(long at, String domain, List<Descriptor> descriptors, long hitsAddend, Code overall, List<Expect> expected,
      long millis) {
    Step(long at, String domain, List<Descriptor> descriptors, long hitsAddend, Code overall, List<Expect> expected) {
      this(at, domain, descriptors, hitsAddend, overall, expected, 0);
    }

    long atMillis() {
      return at * 1000 + millis;
    }
  }

  record Case(String yaml, List<Step> steps) {}

  static Expect ok(long rpu, RateLimitUnit unit, long remaining, long reset) {
    return new Expect(Code.OK, new CurrentLimit(rpu, unit, ""), remaining, Duration.ofSeconds(reset));
  }

  static Expect over(long rpu, RateLimitUnit unit, long reset) {
    return new Expect(Code.OVER_LIMIT, new CurrentLimit(rpu, unit, ""), 0, Duration.ofSeconds(reset));
  }

  /** As {@link #ok}, with the reset in milliseconds (sliding windows and token buckets). */
  static Expect okMs(long rpu, RateLimitUnit unit, long remaining, long resetMillis) {
    return new Expect(Code.OK, new CurrentLimit(rpu, unit, ""), remaining, Duration.ofMillis(resetMillis));
  }

  static Expect overMs(long rpu, RateLimitUnit unit, long resetMillis) {
    return new Expect(Code.OVER_LIMIT, new CurrentLimit(rpu, unit, ""), 0, Duration.ofMillis(resetMillis));
  }

  /** A request of one descriptor in {@code domain} at Unix millisecond {@code atMillis}. */
  static Step reqMs(long atMillis, String domain, Descriptor descriptor, long hits, Expect expect) {
    return new Step(atMillis / 1000, domain, List.of(descriptor), hits, expect.code, List.of(expect), atMillis % 1000);
  }

  static Expect named(Expect e, String name) {
    return new Expect(e.code, new CurrentLimit(e.limit.requestsPerUnit(), e.limit.unit(), name), e.remaining, e.reset);
  }

  static final Expect NONE = new Expect(Code.OK, null, 0, null);
  static final Expect UNLIMITED = new Expect(Code.OK, null, 4294967295L, null);

  static Descriptor d(String... kv) {
    return Descriptor.of(kv);
  }

  /** A request of one descriptor in {@code test-domain}, hits_addend 1. */
  static Step req(long at, Descriptor descriptor, Expect expect) {
    return new Step(at, "test-domain", List.of(descriptor), 1, expect.code, List.of(expect));
  }

  static Step req(long at, String domain, Descriptor descriptor, long hits, Expect expect) {
    return new Step(at, domain, List.of(descriptor), hits, expect.code, List.of(expect));
  }

  static Step multi(long at, String domain, Code overall, List<Descriptor> descriptors, Expect... expected) {
    return new Step(at, domain, descriptors, 1, overall, List.of(expected));
  }

  /** {@code n} identical requests of hits 1, all expected to be OK, counting the remaining down. */
  static List<Step> fill(long at, String domain, Descriptor descriptor, long rpu, RateLimitUnit unit, int n, long reset) {
    List<Step> steps = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      steps.add(req(at, domain, descriptor, 1, ok(rpu, unit, rpu - i, reset)));
    }
    return steps;
  }

  static Named<Case> c(String name, String yaml, Object... steps) {
    List<Step> flat = new ArrayList<>();
    for (Object step : steps) {
      if (step instanceof Step s) {
        flat.add(s);
      } else {
        @SuppressWarnings("unchecked")
        List<Step> list = (List<Step>) step;
        flat.addAll(list);
      }
    }
    return Named.of(name, new Case(yaml, flat));
  }

  static Stream<Named<Case>> cases() {
    Descriptor key = d("key", "value");
    return Stream.of(
        // --- matching: test/config/config_test.go TestBasicConfig over basic_config.yaml ---
        // assert.Nil(GetLimit("foo_domain", ...)): unknown domain, no limit.
        c("basic: unknown domain", BASIC, req(1000, "foo_domain", d("key1", "value1"), 1, NONE)),
        // assert.Nil(GetLimit("test-domain", &RateLimitDescriptor{})): no entries, no limit.
        c("basic: descriptor without entries", BASIC, req(1000, d(), NONE)),
        // {key1, something} -> Nil.
        c("basic: unmatched value under a key-value-only key", BASIC, req(1000, d("key1", "something"), NONE)),
        // {key1, value1} -> Nil: that node has children but no limit.
        c("basic: matched node without rate_limit", BASIC, req(1000, d("key1", "value1"), NONE)),
        // {key2, value2},{subkey, subvalue} -> Nil: request deeper than config.
        c("basic: request deeper than config", BASIC, req(1000, d("key2", "value2", "subkey", "subvalue"), NONE)),
        // {key5, value5},{subkey5, subvalue} -> Nil: parent limit never applies to a longer request.
        c("basic: no parent fallback", BASIC, req(1000, d("key5", "value5", "subkey5", "subvalue"), NONE)),
        // {key1, value1},{subkey1, something} -> 5/SECOND (key-only default at level 2).
        c("basic: nested key-only default", BASIC, req(1000, d("key1", "value1", "subkey1", "something"), ok(5, SECOND, 4, 1))),
        // {key1, value1},{subkey1, subvalue1} -> 10/SECOND (specific override at level 2).
        c("basic: nested exact override", BASIC, req(1000, d("key1", "value1", "subkey1", "subvalue1"), ok(10, SECOND, 9, 1))),
        // {key2, something} -> 20/MINUTE (key-only). Reset: 60 - 1000 % 60 = 20 (src/utils CalculateReset).
        c("basic: top-level key-only default", BASIC, req(1000, d("key2", "something"), ok(20, MINUTE, 19, 20))),
        // {key2, value2} -> 30/MINUTE: exact key_value wins over key-only.
        c("basic: exact value beats key-only", BASIC, req(1000, d("key2", "value2"), ok(30, MINUTE, 29, 20))),
        // {key3, foo} -> 1/HOUR. Reset: 3600 - 1000 = 2600.
        c("basic: hour unit", BASIC, req(1000, d("key3", "foo"), ok(1, HOUR, 0, 2600))),
        // {key4, foo} -> 1/DAY.
        c("basic: day unit", BASIC, req(1000, d("key4", "foo"), ok(1, DAY, 0, 85400))),
        // key5/value5 has its own limit (15/DAY) as well as children (25/DAY): both apply at their depth.
        c("basic: limit on a node with children", BASIC,
            req(1000, d("key5", "value5"), ok(15, DAY, 14, 85400)),
            req(1000, d("key5", "value5", "subkey5", "subvalue5"), ok(25, DAY, 24, 85400))),
        // Reference §1 step 3: entries must come in config order; swapped order finds nothing.
        c("basic: entry order matters", BASIC, req(1000, d("subkey1", "subvalue1", "key1", "value1"), NONE)),
        // Reference §1 step 6: descriptors are case-sensitive.
        c("basic: values are case-sensitive", BASIC, req(1000, d("key1", "VALUE1", "subkey1", "x"), NONE)),

        // --- wildcards: test/config/config_test.go TestWildcardConfig over wildcard.yaml ---
        // noVal foo1 / foo2 both get the key-only limit.
        c("wildcard: key-only baseline", WILDCARD,
            req(1000, d("noVal", "foo1"), ok(20, MINUTE, 19, 20)),
            req(1000, d("noVal", "foo2"), ok(20, MINUTE, 19, 20))),
        // wild foo1 / foo2 match foo*; each value is its own counter (reference §1 step 5).
        c("wildcard: trailing star matches, per-value counters", WILDCARD,
            req(1000, d("wild", "foo1"), ok(20, MINUTE, 19, 20)),
            req(1000, d("wild", "foo2"), ok(20, MINUTE, 19, 20)),
            req(1000, d("wild", "foo1"), ok(20, MINUTE, 18, 20))),
        // wild bar -> Nil.
        c("wildcard: non-matching value", WILDCARD, req(1000, d("wild", "bar"), NONE)),
        // noWild foo1 -> Nil: a plain value does not prefix-match.
        c("wildcard: plain values do not eager match", WILDCARD, req(1000, d("noWild", "foo1"), NONE)),
        // Upstream matches with strings.HasPrefix(finalKey, TrimSuffix(pattern, "*")): foo* matches foo.
        c("wildcard: star matches the empty string", WILDCARD, req(1000, d("wild", "foo"), ok(20, MINUTE, 19, 20))),
        // Reference §1 step 6 (#1085, 2026-03): '*' anywhere. bar*b matches barab.
        c("wildcard: star in the middle", WILDCARD,
            req(1000, d("midWild", "barab"), ok(20, MINUTE, 19, 20)),
            req(1000, d("midWild", "bara"), NONE)),
        // Reference §1 step 3: wildcards of a level in config order, first hit wins.
        c("wildcard: first in config order wins", """
            domain: test-domain
            descriptors:
              - key: k
                value: ab*
                rate_limit: {unit: minute, requests_per_unit: 1}
              - key: k
                value: a*
                rate_limit: {unit: minute, requests_per_unit: 2}
            """,
            req(1000, d("k", "abc"), ok(1, MINUTE, 0, 20)),
            req(1000, d("k", "acb"), ok(2, MINUTE, 1, 20))),
        // Reference §1 step 3 / config_impl.go GetLimit: exact key_value is tried before wildcards.
        c("wildcard: exact value beats wildcard", """
            domain: test-domain
            descriptors:
              - key: k
                value: foo*
                rate_limit: {unit: minute, requests_per_unit: 1}
              - key: k
                value: foobar
                rate_limit: {unit: minute, requests_per_unit: 5}
            """, req(1000, d("k", "foobar"), ok(5, MINUTE, 4, 20))),
        // config_impl.go GetLimit: wildcards are tried before the key-only entry.
        c("wildcard: wildcard beats key-only", """
            domain: test-domain
            descriptors:
              - key: k
                rate_limit: {unit: minute, requests_per_unit: 10}
              - key: k
                value: a*
                rate_limit: {unit: minute, requests_per_unit: 3}
            """,
            req(1000, d("k", "abc"), ok(3, MINUTE, 2, 20)),
            req(1000, d("k", "xyz"), ok(10, MINUTE, 9, 20))),
        // Reference §1 step 3: no backtracking. key1=value1 has no children; the key-only sibling does.
        c("matching: no backtracking to a key-only sibling", """
            domain: test-domain
            descriptors:
              - key: key1
                value: value1
                rate_limit: {unit: minute, requests_per_unit: 1}
              - key: key1
                descriptors:
                  - key: sub
                    rate_limit: {unit: minute, requests_per_unit: 5}
            """,
            req(1000, d("key1", "value1", "sub", "x"), NONE),
            req(1000, d("key1", "other", "sub", "x"), ok(5, MINUTE, 4, 20))),
        // README "Example 2" style key-only: each distinct value gets the full limit (reference §1 step 5,
        // counters keyed by the request's entries, src/limiter/cache_key.go).
        c("matching: key-only counts each value separately", single("day", 1, ""),
            req(1000, "domain", d("key", "111"), 1, ok(1, DAY, 0, 85400)),
            req(1000, "domain", d("key", "111"), 1, over(1, DAY, 85400)),
            req(1000, "domain", d("key", "222"), 1, ok(1, DAY, 0, 85400))),
        // Reference §1 YAML shape: a descriptor with neither rate_limit nor children is a whitelist entry,
        // and it stops the key-only default from applying (config_test.go older key2/value3 assertion).
        c("matching: whitelist entry", """
            domain: test-domain
            descriptors:
              - key: key2
                rate_limit: {unit: minute, requests_per_unit: 20}
              - key: key2
                value: value3
            """, req(1000, d("key2", "value3"), NONE), req(1000, d("key2", "value4"), ok(20, MINUTE, 19, 20))),

        // --- counting: test/redis/fixed_cache_impl_test.go ---
        // testRedis: 10/SECOND at UnixNow 1234, INCRBY returns 5 -> OK, remaining 5 (4 earlier hits here).
        c("fixed cache: second limit remaining", SINGLE_10_SECOND,
            fill(1234, "domain", key, 10, SECOND, 5, 1)),
        // testRedis: 10/MINUTE, INCRBY returns 11 -> OVER_LIMIT, remaining 0; reset CalculateReset = 60 - 1234 % 60.
        c("fixed cache: minute limit over", single("minute", 10, ""),
            fill(1234, "domain", key, 10, MINUTE, 10, 26),
            req(1234, "domain", key, 1, over(10, MINUTE, 26))),
        // testRedis: at UnixNow 1000000, 10/HOUR count 11 and 10/DAY count 13 -> both OVER_LIMIT, remaining 0.
        // Keys ..._997200 and ..._950400 are the window starts; resets 3600 - 2800 and 86400 - 49600.
        c("fixed cache: hour and day over in one request", """
            domain: domain
            descriptors:
              - key: key3
                value: value3
                rate_limit: {unit: hour, requests_per_unit: 10}
                descriptors:
                  - key: subkey3
                    value: subvalue3
                    rate_limit: {unit: day, requests_per_unit: 10}
            """,
            new Step(1000000, "domain", List.of(d("key3", "value3"), d("key3", "value3", "subkey3", "subvalue3")), 10,
                Code.OK, List.of(ok(10, HOUR, 0, 800), ok(10, DAY, 0, 36800))),
            multi(1000000, "domain", Code.OVER_LIMIT, List.of(d("key3", "value3"), d("key3", "value3", "subkey3", "subvalue3")),
                over(10, HOUR, 800), over(10, DAY, 36800))),
        // TestNearLimit: 15/HOUR at 1000000: count 11 -> remaining 4, count 13 -> 2, count 16 -> OVER 0.
        c("fixed cache: remaining counts down to over", single("hour", 15, ""),
            req(1000000, "domain", key, 11, ok(15, HOUR, 4, 800)),
            req(1000000, "domain", key, 2, ok(15, HOUR, 2, 800)),
            req(1000000, "domain", key, 3, over(15, HOUR, 800))),
        // testRedis second case: a descriptor with no limit next to a limited one -> {OK, nil, 0} and OVER.
        c("fixed cache: unlimited-by-absence beside an over limit", """
            domain: domain
            descriptors:
              - key: key2
                value: value2
                descriptors:
                  - key: subkey2
                    value: subvalue2
                    rate_limit: {unit: minute, requests_per_unit: 10}
            """,
            new Step(1234, "domain", List.of(d("key2", "value2"), d("key2", "value2", "subkey2", "subvalue2")), 11,
                Code.OVER_LIMIT, List.of(NONE, over(10, MINUTE, 26)))),

        // --- windows: reference §2 (src/limiter/base_limiter.go): window start = now - now % unit ---
        c("window: second boundary resets", single("second", 2, ""),
            req(1000, "domain", key, 1, ok(2, SECOND, 1, 1)),
            req(1000, "domain", key, 1, ok(2, SECOND, 0, 1)),
            req(1000, "domain", key, 1, over(2, SECOND, 1)),
            req(1001, "domain", key, 1, ok(2, SECOND, 1, 1))),
        // Aligned to Unix time, not to the first hit: a hit at :59 and one at :00 are in different windows.
        c("window: minute aligned to Unix time", single("minute", 1, ""),
            req(1259, "domain", key, 1, ok(1, MINUTE, 0, 1)),
            req(1259, "domain", key, 1, over(1, MINUTE, 1)),
            req(1260, "domain", key, 1, ok(1, MINUTE, 0, 60))),
        // Reference §1 units (#812): WEEK = 604800 s; reset 604800 - 1000000 % 604800.
        c("units: week", single("week", 3, ""), req(1000000, "domain", key, 1, ok(3, WEEK, 2, 209600))),
        // Reference §1 units (#743): MONTH = 30 days fixed.
        c("units: month", single("month", 3, ""), req(1000000, "domain", key, 1, ok(3, MONTH, 2, 1592000))),
        // Reference §1 units (#743): YEAR = 365 days fixed.
        c("units: year", single("year", 3, ""), req(1000000, "domain", key, 1, ok(3, YEAR, 2, 30536000))),
        // config_impl.go: strings.ToUpper(unit) -> units are case-insensitive.
        c("units: case-insensitive", single("SeCoNd", 3, ""), req(1000, "domain", key, 1, ok(3, SECOND, 2, 1))),

        // --- hits_addend: reference §1 hits_addend (rls.proto, src/utils/utilities.go) ---
        c("hits: request-level 0 means 1", SINGLE_10_SECOND, req(1000, "domain", key, 0, ok(10, SECOND, 9, 1))),
        c("hits: request-level addend", SINGLE_10_SECOND, req(1000, "domain", key, 5, ok(10, SECOND, 5, 1))),
        // Over is count after increment > limit: reaching the limit exactly is OK with 0 remaining.
        c("hits: exactly the limit is OK", SINGLE_10_SECOND,
            req(1000, "domain", key, 10, ok(10, SECOND, 0, 1)),
            req(1000, "domain", key, 1, over(10, SECOND, 1))),
        c("hits: one request over the limit", SINGLE_10_SECOND, req(1000, "domain", key, 11, over(10, SECOND, 1))),
        // Per-descriptor hits_addend overrides the request-level one.
        c("hits: per-descriptor overrides request-level", SINGLE_10_SECOND,
            req(1000, "domain", key.withHitsAddend(2), 7, ok(10, SECOND, 8, 1))),
        // Per-descriptor 0: check only. OVER only if the stored count is already > limit.
        c("hits: per-descriptor 0 checks without incrementing", single("second", 2, ""),
            req(1000, "domain", key.withHitsAddend(0), 1, ok(2, SECOND, 2, 1)),
            req(1000, "domain", key, 2, ok(2, SECOND, 0, 1)),
            req(1000, "domain", key.withHitsAddend(0), 1, ok(2, SECOND, 0, 1)),
            req(1000, "domain", key.withHitsAddend(0), 1, ok(2, SECOND, 0, 1))),
        // Reference §Multiple descriptors: the over-limit hit is counted too (denied hits consume), so a
        // later check-only sees count 4 > 3.
        c("hits: denied hits consume quota", single("second", 3, ""),
            fill(1000, "domain", key, 3, SECOND, 3, 1),
            req(1000, "domain", key, 1, over(3, SECOND, 1)),
            req(1000, "domain", key.withHitsAddend(0), 1, over(3, SECOND, 1))),
        // Reference §1 units: requests_per_unit 0 blocks everything.
        c("hits: requests_per_unit 0 blocks", single("second", 0, ""), req(1000, "domain", key, 1, over(0, SECOND, 1))),

        // --- several descriptors: README "Multiple descriptors", src/service/ratelimit.go ---
        c("multi: one over makes overall over; the other is still counted", """
            domain: domain
            descriptors:
              - key: a
                rate_limit: {unit: second, requests_per_unit: 1}
              - key: b
                rate_limit: {unit: second, requests_per_unit: 5}
            """,
            multi(1000, "domain", Code.OK, List.of(d("a", "x"), d("b", "y")), ok(1, SECOND, 0, 1), ok(5, SECOND, 4, 1)),
            multi(1000, "domain", Code.OVER_LIMIT, List.of(d("a", "x"), d("b", "y")), over(1, SECOND, 1), ok(5, SECOND, 3, 1))),
        // Reference §Multiple descriptors: the same descriptor twice is one key incremented twice.
        c("multi: same descriptor twice", single("second", 2, ""),
            multi(1000, "domain", Code.OK, List.of(key, key), ok(2, SECOND, 1, 1), ok(2, SECOND, 0, 1))),
        // Statuses are 1:1 and in request order.
        c("multi: statuses in request order", """
            domain: domain
            descriptors:
              - key: limited
                rate_limit: {unit: second, requests_per_unit: 5}
              - key: free
                rate_limit: {unlimited: true}
            """,
            multi(1000, "domain", Code.OK, List.of(d("free", "1"), d("nothing", "2"), d("limited", "3")),
                UNLIMITED, NONE, ok(5, SECOND, 4, 1))),

        // --- unlimited: README Example 5, src/service/ratelimit.go (limit_remaining MaxUint32) ---
        c("unlimited: never counted", """
            domain: domain
            descriptors:
              - key: key
                rate_limit:
                  unlimited: true
            """,
            req(1000, "domain", key, 1000, UNLIMITED), req(1000, "domain", key, 1000, UNLIMITED)),

        // --- replaces: README "Replaces", integration-test/scripts/replaces.sh, src/service/ratelimit.go ---
        c("replaces: the named limit is dropped and not counted", """
            domain: domain
            descriptors:
              - key: general
                rate_limit: {unit: second, requests_per_unit: 1, name: general}
              - key: special
                rate_limit:
                  unit: second
                  requests_per_unit: 3
                  name: special
                  replaces:
                    - name: general
            """,
            multi(1000, "domain", Code.OK, List.of(d("general", "g"), d("special", "s")),
                NONE, named(ok(3, SECOND, 2, 1), "special")),
            multi(1000, "domain", Code.OK, List.of(d("general", "g"), d("special", "s")),
                NONE, named(ok(3, SECOND, 1, 1), "special")),
            // Only within one request: alone, "general" applies, and its counter was never touched.
            req(1000, "domain", d("general", "g"), 1, named(ok(1, SECOND, 0, 1), "general"))),
        // Reference §1 replaces: names are collected from every matched limit, unlimited ones too.
        c("replaces: an unlimited limit replaces too", """
            domain: domain
            descriptors:
              - key: general
                rate_limit: {unit: second, requests_per_unit: 1, name: general}
              - key: vip
                rate_limit:
                  unlimited: true
                  replaces:
                    - name: general
            """,
            multi(1000, "domain", Code.OK, List.of(d("general", "g"), d("vip", "v")), NONE, UNLIMITED),
            multi(1000, "domain", Code.OK, List.of(d("general", "g"), d("vip", "v")), NONE, UNLIMITED)),

        // --- shadow_mode: README "ShadowMode", test/config/shadowmode_config.yaml ---
        c("shadow: over is reported OK with the limit and 0 remaining", single("second", 1, "shadow_mode: true"),
            req(1000, "domain", key, 1, ok(1, SECOND, 0, 1)),
            req(1000, "domain", key, 1, ok(1, SECOND, 0, 1)),
            req(1000, "domain", key, 1, ok(1, SECOND, 0, 1))),
        c("shadow: a non-shadow descriptor still makes overall over", """
            domain: domain
            descriptors:
              - key: shadow
                shadow_mode: true
                rate_limit: {unit: second, requests_per_unit: 0}
              - key: real
                rate_limit: {unit: second, requests_per_unit: 0}
            """,
            multi(1000, "domain", Code.OK, List.of(d("shadow", "x")), ok(0, SECOND, 0, 1)),
            multi(1000, "domain", Code.OVER_LIMIT, List.of(d("shadow", "x"), d("real", "y")),
                ok(0, SECOND, 0, 1), over(0, SECOND, 1))),

        // --- meshguard: divergences and extensions ---
        // meshguard (reference §2): upstream's "_" joiner would make these one Redis key; ours are two.
        c("meshguard: no key collisions between a_b+c and a+b_c", """
            domain: domain
            descriptors:
              - key: a_b
                value: c
                rate_limit: {unit: second, requests_per_unit: 1}
              - key: a
                value: b_c
                rate_limit: {unit: second, requests_per_unit: 1}
            """,
            req(1000, "domain", d("a_b", "c"), 1, ok(1, SECOND, 0, 1)),
            req(1000, "domain", d("a", "b_c"), 1, ok(1, SECOND, 0, 1))),
        // --- request limit override: src/config/config_impl.go GetLimit (descriptor.GetLimit() != nil) ---
        // The override replaces the configured limit, with no name, counted in its unit's window.
        c("override: replaces the configured limit", single("second", 10, "  name: ten"),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(2, MINUTE)), 1, ok(2, MINUTE, 1, 20)),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(2, MINUTE)), 1, ok(2, MINUTE, 0, 20)),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(2, MINUTE)), 1, over(2, MINUTE, 20))),
        // Also for a descriptor the config does not match at all, as long as the domain exists.
        c("override: applies to an unmatched descriptor of a known domain", SINGLE_10_SECOND,
            req(1000, "domain", d("other", "x").withLimit(new Descriptor.LimitOverride(1, SECOND)), 1,
                ok(1, SECOND, 0, 1))),
        // Unknown domain: GetLimit returns nil before it looks at the override.
        c("override: ignored for an unknown domain", SINGLE_10_SECOND,
            req(1000, "nope", key.withLimit(new Descriptor.LimitOverride(1, SECOND)), 1, NONE)),
        // No shadow mode for an override (NewRateLimit(..., shadowMode=false, ...)).
        c("override: never in shadow mode", single("second", 10, "shadow_mode: true"),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(0, SECOND)), 1, over(0, SECOND, 1))),
        // --- README "Examples" (github.com/envoyproxy/ratelimit README.md, "### Examples") ---
        // Example 1: two values of one key, each with its own 500/s limit; other values match nothing.
        c("readme example 1: values of one key", """
            domain: mongo_cps
            descriptors:
              - key: database
                value: users
                rate_limit: {unit: second, requests_per_unit: 500}
              - key: database
                value: default
                rate_limit: {unit: second, requests_per_unit: 500}
            """,
            req(1000, "mongo_cps", d("database", "users"), 1, ok(500, SECOND, 499, 1)),
            req(1000, "mongo_cps", d("database", "default"), 1, ok(500, SECOND, 499, 1)),
            req(1000, "mongo_cps", d("database", "other"), 1, NONE)),
        // Example 2: (marketing, 2061111111) and (marketing, 2062222222) each get 5 a day.
        c("readme example 2: nested key-only counts each number", README_EXAMPLE_2,
            req(1000, "messaging", d("message_type", "marketing", "to_number", "2061111111"), 5, ok(5, DAY, 0, 85400)),
            req(1000, "messaging", d("message_type", "marketing", "to_number", "2061111111"), 1, over(5, DAY, 85400)),
            req(1000, "messaging", d("message_type", "marketing", "to_number", "2062222222"), 1, ok(5, DAY, 4, 85400))),
        // Example 2: both descriptors in one request are counted; the answer is the logical OR.
        c("readme example 2: all matching rules, logical OR", README_EXAMPLE_2,
            multi(1000, "messaging", Code.OK,
                List.of(d("message_type", "marketing", "to_number", "2061111111"), d("to_number", "2061111111")),
                ok(5, DAY, 4, 85400), ok(100, DAY, 99, 85400)),
            new Step(1000, "messaging",
                List.of(d("message_type", "marketing", "to_number", "2061111111"), d("to_number", "2061111111")), 4,
                Code.OK, List.of(ok(5, DAY, 0, 85400), ok(100, DAY, 95, 85400))),
            multi(1000, "messaging", Code.OVER_LIMIT,
                List.of(d("message_type", "marketing", "to_number", "2061111111"), d("to_number", "2061111111")),
                over(5, DAY, 85400), ok(100, DAY, 94, 85400))),
        // Example 3: 10/s per address, and a black-listed address with 0: key/value is tried before key.
        c("readme example 3: most specific match, limit 0 black-lists", """
            domain: edge_proxy_per_ip
            descriptors:
              - key: remote_address
                rate_limit: {unit: second, requests_per_unit: 10}
              - key: remote_address
                value: 50.0.0.5
                rate_limit: {unit: second, requests_per_unit: 0}
            """,
            req(1000, "edge_proxy_per_ip", d("remote_address", "50.0.0.1"), 1, ok(10, SECOND, 9, 1)),
            req(1000, "edge_proxy_per_ip", d("remote_address", "50.0.0.5"), 1, over(0, SECOND, 1))),
        // Example 4: a two-entry request does not match a one-level config ...
        c("readme example 4: depth must match", """
            domain: example4
            descriptors:
              - key: key
                value: value
                rate_limit: {requests_per_unit: 300, unit: second}
            """, req(1000, "example4", d("key", "value", "subkey", "subvalue"), 1, NONE)),
        // ... but matches the nested key-only config.
        c("readme example 4: nested key-only at the same depth", """
            domain: example4
            descriptors:
              - key: key
                value: value
                descriptors:
                  - key: subkey
                    rate_limit: {requests_per_unit: 300, unit: second}
            """, req(1000, "example4", d("key", "value", "subkey", "subvalue"), 1, ok(300, SECOND, 299, 1))),
        // Example 5: unlimited (OK, LimitRemaining MaxUint32, never counted) beside a counted limit.
        c("readme example 5: unlimited beside a limit", """
            domain: internal
            descriptors:
              - key: ldap
                rate_limit:
                  unlimited: true
              - key: azure
                rate_limit: {unit: minute, requests_per_unit: 100}
            """,
            multi(1000, "internal", Code.OK, List.of(d("ldap", "x"), d("azure", "y")), UNLIMITED, ok(100, MINUTE, 99, 20))),
        // Example 6: user-a is in shadow mode (never limited), user-b is limited to 20/s.
        c("readme example 6: shadow mode per rule", """
            domain: example6
            descriptors:
              - key: service
                descriptors:
                  - key: user
                    value: user-a
                    rate_limit: {requests_per_unit: 10, unit: second}
                    shadow_mode: true
                  - key: user
                    value: user-b
                    rate_limit: {requests_per_unit: 20, unit: second}
            """,
            req(1000, "example6", d("service", "auth-service", "user", "user-a"), 11, ok(10, SECOND, 0, 1)),
            req(1000, "example6", d("service", "auth-service", "user", "user-b"), 21, over(20, SECOND, 1))),
        // Example 7: with both rules matched, specific_limit is replaced (10/s applies, 5/s untouched).
        c("readme example 7: replaces across nested rules", """
            domain: example7
            descriptors:
              - key: key_1
                value: value_1
                descriptors:
                  - key: user
                    value: bkthomps
                    rate_limit:
                      name: specific_limit
                      requests_per_unit: 5
                      unit: second
              - key: key_2
                value: value_2
                descriptors:
                  - key: user
                    value: bkthomps
                    rate_limit:
                      replaces:
                        - name: specific_limit
                      requests_per_unit: 10
                      unit: second
            """,
            multi(1000, "example7", Code.OK,
                List.of(d("key_1", "value_1", "user", "bkthomps"), d("key_2", "value_2", "user", "bkthomps")),
                NONE, ok(10, SECOND, 9, 1)),
            req(1000, "example7", d("key_1", "value_1", "user", "bkthomps"), 1, named(ok(5, SECOND, 4, 1),
                "specific_limit"))),
        // Example 8: detailed_metric changes metrics only; counting is as usual.
        c("readme example 8: detailed_metric counts as usual", """
            domain: example8
            descriptors:
              - key: key1
                detailed_metric: true
                rate_limit: {unit: minute, requests_per_unit: 10}
              - key: key1
                value: value1
                rate_limit: {unit: minute, requests_per_unit: 20}
            """,
            req(1000, "example8", d("key1", "unspecified_value"), 1, ok(10, MINUTE, 9, 20)),
            req(1000, "example8", d("key1", "unspecified_value2"), 1, ok(10, MINUTE, 9, 20)),
            req(1000, "example8", d("key1", "value1"), 1, ok(20, MINUTE, 19, 20))),
        // Example 9: value* matches value1 and value2, 20 each.
        c("readme example 9: wildcard values", """
            domain: example9
            descriptors:
              - key: key1
                value: value*
                rate_limit: {unit: minute, requests_per_unit: 20}
            """,
            req(1000, "example9", d("key1", "value1"), 1, ok(20, MINUTE, 19, 20)),
            req(1000, "example9", d("key1", "value2"), 1, ok(20, MINUTE, 19, 20))),

        // --- more of src/config/config_impl.go GetLimit and src/limiter, src/utils ---
        // GetLimit looks up key + "_" + value, then key: an empty value falls back to the key-only rule.
        c("matching: empty value takes the key-only rule", single("minute", 20, ""),
            req(1000, "domain", d("key", ""), 1, ok(20, MINUTE, 19, 20))),
        // GetLimit walks any depth; the limit comes from the node of the last entry.
        c("matching: three levels", """
            domain: domain
            descriptors:
              - key: a
                descriptors:
                  - key: b
                    value: y
                    descriptors:
                      - key: c
                        rate_limit: {unit: second, requests_per_unit: 3}
            """,
            req(1000, "domain", d("a", "x", "b", "y", "c", "z"), 1, ok(3, SECOND, 2, 1)),
            req(1000, "domain", d("a", "x", "b", "y"), 1, NONE),
            req(1000, "domain", d("a", "x", "b", "other", "c", "z"), 1, NONE)),
        // base_limiter.go: window start = now - now % unit; a day window ends at 00:00 UTC.
        c("window: day aligned to midnight UTC", single("day", 1, ""),
            req(86399, "domain", key, 1, ok(1, DAY, 0, 1)),
            req(86399, "domain", key, 1, over(1, DAY, 1)),
            req(86400, "domain", key, 1, ok(1, DAY, 0, 86400))),
        c("window: hour boundary", single("hour", 1, ""),
            req(7199, "domain", key, 1, ok(1, HOUR, 0, 1)),
            req(7200, "domain", key, 1, ok(1, HOUR, 0, 3600))),
        // utilities.go / ratelimit.go: the request-level hits_addend applies to every descriptor.
        c("hits: request-level addend applies to every descriptor", """
            domain: domain
            descriptors:
              - key: a
                rate_limit: {unit: second, requests_per_unit: 10}
              - key: b
                rate_limit: {unit: second, requests_per_unit: 10}
            """,
            new Step(1000, "domain", List.of(d("a", "1"), d("b", "2")), 3, Code.OK,
                List.of(ok(10, SECOND, 7, 1), ok(10, SECOND, 7, 1)))),
        // #802: a descriptor's own hits_addend replaces the request's only for that descriptor.
        c("hits: per-descriptor addend on one descriptor only", """
            domain: domain
            descriptors:
              - key: a
                rate_limit: {unit: second, requests_per_unit: 10}
              - key: b
                rate_limit: {unit: second, requests_per_unit: 10}
            """,
            new Step(1000, "domain", List.of(d("a", "1").withHitsAddend(5), d("b", "2")), 2, Code.OK,
                List.of(ok(10, SECOND, 5, 1), ok(10, SECOND, 8, 1)))),
        // GetLimit: the override's unit decides the window.
        c("override: its unit sets the window", single("second", 10, ""),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(5, HOUR)), 1, ok(5, HOUR, 4, 2600))),
        // src/limiter/cache_key.go: the cache key is domain, entries and window start, not the limit, so an
        // override of the same unit counts on the configured limit's counter (reference §2, issue #1077).
        c("override: shares the counter with the configured limit", single("second", 10, ""),
            req(1000, "domain", key, 1, ok(10, SECOND, 9, 1)),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(2, SECOND)), 1, ok(2, SECOND, 0, 1)),
            req(1000, "domain", key.withLimit(new Descriptor.LimitOverride(2, SECOND)), 1, over(2, SECOND, 1)),
            req(1000, "domain", key, 1, ok(10, SECOND, 6, 1))),
        // ratelimit.go: a shadow-mode descriptor alone never makes the overall code OVER_LIMIT.
        c("shadow: alone, overall stays OK", single("second", 0, "shadow_mode: true"),
            multi(1000, "domain", Code.OK, List.of(key, key), ok(0, SECOND, 0, 1), ok(0, SECOND, 0, 1))),

        // --- meshguard: arbitrary windows (our `window` extension, fixed window aligned to Unix time) ---
        // window 90s at 1000: start 990, reset 80.
        c("meshguard: 90 s window", single("minute", 1, "  window: 90s"),
            req(1000, "domain", key, 1, ok(1, MINUTE, 0, 80)),
            req(1079, "domain", key, 1, over(1, MINUTE, 1)),
            req(1080, "domain", key, 1, ok(1, MINUTE, 0, 90))),

        // --- meshguard: sliding_window (Algorithm.SLIDING_WINDOW's documented formula, by hand) ---
        // 3 per minute; at 1000 the window is [960, 1020), e = 40 s. No previous window: counts as fixed.
        // Reset: the current window has hits, so 2W - e = 80 s. Refused hits are not counted.
        c("sliding: first window counts like a fixed one", single("minute", 3, "  algorithm: sliding_window"),
            fill(1000, "domain", key, 3, MINUTE, 3, 80),
            req(1000, "domain", key, 1, over(3, MINUTE, 80)),
            req(1000, "domain", key.withHitsAddend(0), 1, ok(3, MINUTE, 0, 80))),
        // 2 per minute. Window [960,1020): 2 admitted, 1 refused (not counted). At 1020 (e = 0) the
        // previous count 2 weighs fully: 2 + 1 > 2, refused; reset W - e = 60 s as this window is empty.
        // At 1050 (e = 30 s): w = floor(30000/60000 * 65536) = 32768, floor(2 * 32768/65536) = 1; 1 + 0 + 1 = 2: OK,
        // remaining 0, reset 2W - e = 90 s. At 1051: w = floor(29000 * 65536 / 60000) = 31675,
        // floor(2 * 31675 / 65536) = 0; 0 + 1 + 1 = 2: OK, reset 89 s. Then 0 + 2 + 1 > 2: refused.
        c("sliding: the previous window weighs by its share", single("minute", 2, "  algorithm: sliding_window"),
            req(1000, "domain", key, 1, ok(2, MINUTE, 1, 80)),
            req(1000, "domain", key, 1, ok(2, MINUTE, 0, 80)),
            req(1000, "domain", key, 1, over(2, MINUTE, 80)),
            req(1020, "domain", key, 1, over(2, MINUTE, 60)),
            req(1050, "domain", key, 1, ok(2, MINUTE, 0, 90)),
            req(1051, "domain", key, 1, ok(2, MINUTE, 0, 89)),
            req(1051, "domain", key, 1, over(2, MINUTE, 89))),
        // 4 per minute, all 4 at the end of [960, 1020). At 1035 (e = 15 s): w = floor(45000 * 65536 / 60000)
        // = 49152, floor(4 * 49152 / 65536) = 3: one more fits (remaining 0), the next does not.
        c("sliding: a burst at a window's end is not doubled", single("minute", 4, "  algorithm: sliding_window"),
            req(1019, "domain", key, 4, ok(4, MINUTE, 0, 61)),
            req(1020, "domain", key, 1, over(4, MINUTE, 60)),
            req(1035, "domain", key, 1, ok(4, MINUTE, 0, 105)),
            req(1035, "domain", key, 1, over(4, MINUTE, 105))),
        // Millisecond precision: 10 per 10 s window. 10 hits at 1009.999 (window [1000,1010), e = 9999 ms).
        // At 1010.500 (e = 500 ms): w = floor(9500 * 65536 / 10000) = 62259, floor(10 * 62259 / 65536) = 9:
        // 9 + 0 + 1 = 10, OK with 0 remaining; reset 2W - e = 19500 ms.
        c("sliding: millisecond weights", single("second", 10, "  algorithm: sliding_window\n  window: 10s"),
            reqMs(1_009_999, "domain", key, 10, okMs(10, SECOND, 0, 10_001)),
            reqMs(1_010_500, "domain", key, 1, okMs(10, SECOND, 0, 19_500)),
            reqMs(1_010_500, "domain", key, 1, overMs(10, SECOND, 19_500))),

        // --- meshguard: token_bucket (GCRA; Algorithm.TOKEN_BUCKET's documented formula, by hand) ---
        // 2 per second (T = 500 ms), burst 4. At 1000.000 four hits empty the bucket: TAT = now + 2000 ms,
        // reset 2000 ms. Another is refused (nothing taken). At +500 ms one token is back (X = 3000,
        // ceil(3000/1000) = 3 in use): OK, remaining 0, TAT = now + 2000 again. At +1500 ms two are back:
        // 2 in use + 1 = 3, remaining 1, TAT 1003000, reset 1500 ms.
        c("token bucket: burst, then the rate", single("second", 2, "  algorithm: token_bucket\n  burst: 4"),
            reqMs(1_000_000, "domain", key, 4, okMs(2, SECOND, 0, 2000)),
            reqMs(1_000_000, "domain", key, 1, overMs(2, SECOND, 2000)),
            reqMs(1_000_500, "domain", key, 1, okMs(2, SECOND, 0, 2000)),
            reqMs(1_001_500, "domain", key, 1, okMs(2, SECOND, 1, 1500))),
        // 3 per second, burst defaults to 3, T = 333.33... ms kept exact. Three at 1000.000: TAT 1001000.
        // At +1 ms: X = 999 * 3 = 2997, 3 in use, refused, reset ceil(2997 / 3) = 999 ms. At +334: X = 1998,
        // 2 in use: OK; TAT = 1001000 + 1000/3 -> 1001333 + 1/3; X = 999 * 3 + 1 = 2998, reset 1000 ms.
        // At +667: X = 666 * 3 + 1 = 1999: OK; TAT 1001666 + 2/3, X = 2999, reset 1000. At +1000: X = 2000:
        // OK; TAT exactly 1002000, reset 1000 ms. Six admitted in one second: burst 3 + 1 s * 3/s.
        c("token bucket: fractional emission interval is exact", single("second", 3, "  algorithm: token_bucket"),
            reqMs(1_000_000, "domain", key, 3, okMs(3, SECOND, 0, 1000)),
            reqMs(1_000_001, "domain", key, 1, overMs(3, SECOND, 999)),
            reqMs(1_000_334, "domain", key, 1, okMs(3, SECOND, 0, 1000)),
            reqMs(1_000_667, "domain", key, 1, okMs(3, SECOND, 0, 1000)),
            reqMs(1_001_000, "domain", key, 1, okMs(3, SECOND, 0, 1000))),
        // 1 per minute: at 1030 half a token is back, ceil(30000 / 60000) = 1 in use + 1 > 1: refused, reset
        // 30 s; refusing took nothing, so at 1060 the bucket is full.
        c("token bucket: refused requests take nothing", single("minute", 1, "  algorithm: token_bucket"),
            req(1000, "domain", key, 1, ok(1, MINUTE, 0, 60)),
            req(1030, "domain", key, 1, over(1, MINUTE, 30)),
            req(1060, "domain", key, 1, ok(1, MINUTE, 0, 60))),
        // 5 per second: 6 hits never fit a bucket of 5 (refused, empty bucket: reset 0); 5 do.
        c("token bucket: more hits than the burst", single("second", 5, "  algorithm: token_bucket"),
            req(1000, "domain", key, 6, overMs(5, SECOND, 0)),
            req(1000, "domain", key, 5, ok(5, SECOND, 0, 1))),
        // 10 per second: after one hit, a read (hits 0) sees 1 in use, 9 remaining, full again in 100 ms.
        c("token bucket: hits 0 reads", single("second", 10, "  algorithm: token_bucket"),
            reqMs(1_000_000, "domain", key, 1, okMs(10, SECOND, 9, 100)),
            reqMs(1_000_000, "domain", key.withHitsAddend(0), 1, okMs(10, SECOND, 9, 100))),
        // requests_per_unit 0 refuses everything, as for fixed windows.
        c("token bucket: limit 0 blocks", single("second", 0, "  algorithm: token_bucket"),
            req(1000, "domain", key, 1, over(0, SECOND, 1))),

        // meshguard extension: window 5m is a 300 s window aligned to Unix time; unit still reported.
        c("meshguard: window extension", single("minute", 2, "  window: 5m"),
            req(1000, "domain", key, 1, ok(2, MINUTE, 1, 200)),
            req(1199, "domain", key, 1, ok(2, MINUTE, 0, 1)),
            req(1200, "domain", key, 1, ok(2, MINUTE, 1, 300))));
  }

  /**
   * The store a case runs against, fresh for the case: here the memory store; the Redis
   * subclasses run the same table on Redis.
   */
  CounterStore store(ManualClock clock) {
    return new MemoryStore(clock);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void conformance(Case c) throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("case.yaml", c.yaml);
    ManualClock clock = new ManualClock(Instant.ofEpochMilli(c.steps.get(0).atMillis()));
    RateLimitEngine engine = new RateLimitEngine(() -> config, store(clock), clock, FailureMode.DENY);
    for (int i = 0; i < c.steps.size(); i++) {
      Step step = c.steps.get(i);
      clock.setWallTime(Instant.ofEpochMilli(step.atMillis()));
      RateLimitDecision decision = engine.decide(step.domain, step.descriptors, step.hitsAddend);
      List<Expect> actual = decision.statuses().stream()
          .map(s -> new Expect(s.code(), s.currentLimit(), s.limitRemaining(), s.durationUntilReset()))
          .toList();
      assertThat(actual).as("step %d statuses", i + 1).isEqualTo(step.expected);
      assertThat(decision.overallCode()).as("step %d overall", i + 1).isEqualTo(step.overall);
      assertThat(decision.storeFailed()).isFalse();
    }
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/**
 * The bounds {@link Algorithm} documents, checked on random traffic against the memory store:
 * whatever arrives, a fixed window admits at most L per window, a sliding window at most
 * {@code L + p*e/W + p/65536 + 1} in any window-length interval, a token bucket at most
 * {@code burst + floor(τ * L / W)} in any interval of length τ.
 */
class AlgorithmBoundsTest {

  private static final long START = 1_700_000_000_000L;

  /** One arrival: after {@code gapMillis}, {@code hits} hits. */
  record Arrival(long atMillis, long hits) {}

  private static List<Arrival> arrivals(List<Integer> gaps, List<Integer> hits) {
    List<Arrival> arrivals = new ArrayList<>();
    long at = START;
    for (int i = 0; i < gaps.size(); i++) {
      at += gaps.get(i);
      arrivals.add(new Arrival(at, hits.get(i % hits.size())));
    }
    return arrivals;
  }

  /** Runs the arrivals through one counter; returns the admitted ones. */
  private static List<Arrival> admitted(List<Arrival> arrivals, Algorithm algorithm, long limit, long burst,
      long windowSeconds) {
    ManualClock clock = new ManualClock(Instant.ofEpochMilli(START));
    MemoryStore store = new MemoryStore(clock);
    Hit template = new Hit(new CounterKey("k"), algorithm, limit, burst, windowSeconds, 0);
    List<Arrival> admitted = new ArrayList<>();
    for (Arrival arrival : arrivals) {
      Hit hit = new Hit(template.counter(), algorithm, limit, burst, windowSeconds, arrival.hits());
      Outcome outcome = store.hit(List.of(hit), arrival.atMillis())[0];
      if (!outcome.over() && arrival.hits() > 0) {
        admitted.add(arrival);
      }
    }
    return admitted;
  }

  @Property(tries = 200)
  void fixedWindowNeverAdmitsMoreThanTheLimitPerWindow(
      @ForAll @Size(min = 1, max = 200) List<@IntRange(min = 0, max = 700) Integer> gaps,
      @ForAll @Size(min = 1, max = 10) List<@IntRange(min = 0, max = 4) Integer> hits,
      @ForAll @LongRange(min = 0, max = 12) long limit,
      @ForAll @LongRange(min = 1, max = 5) long windowSeconds) {
    Map<Long, Long> perWindow = new HashMap<>();
    for (Arrival a : admitted(arrivals(gaps, hits), Algorithm.FIXED_WINDOW, limit, limit, windowSeconds)) {
      perWindow.merge(Algorithms.windowStartSeconds(a.atMillis(), windowSeconds), a.hits(), Long::sum);
    }
    assertThat(perWindow.values()).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(limit));
  }

  @Property(tries = 200)
  void slidingWindowStaysWithinItsDocumentedBound(
      @ForAll @Size(min = 1, max = 200) List<@IntRange(min = 0, max = 900) Integer> gaps,
      @ForAll @Size(min = 1, max = 10) List<@IntRange(min = 0, max = 4) Integer> hits,
      @ForAll @LongRange(min = 0, max = 12) long limit,
      @ForAll @LongRange(min = 1, max = 5) long windowSeconds) {
    long w = windowSeconds * 1000;
    List<Arrival> admitted = admitted(arrivals(gaps, hits), Algorithm.SLIDING_WINDOW, limit, limit, windowSeconds);
    Map<Long, Long> perWindow = new HashMap<>();
    for (Arrival a : admitted) {
      perWindow.merge(Algorithms.windowStartSeconds(a.atMillis(), windowSeconds), a.hits(), Long::sum);
    }
    for (Arrival last : admitted) {
      long start = Algorithms.windowStartSeconds(last.atMillis(), windowSeconds);
      long previous = perWindow.getOrDefault(start - windowSeconds, 0L);
      long elapsed = last.atMillis() - start * 1000;
      long inInterval = admitted.stream()
          .filter(a -> a.atMillis() > last.atMillis() - w && a.atMillis() <= last.atMillis())
          .mapToLong(Arrival::hits).sum();
      double bound = limit + (double) previous * elapsed / w + previous / 65536.0 + 1;
      assertThat((double) inInterval).as("admitted in the %d ms up to %d", w, last.atMillis())
          .isLessThanOrEqualTo(bound);
      assertThat(perWindow.get(start)).isLessThanOrEqualTo(limit);
    }
  }

  @Property(tries = 200)
  void tokenBucketNeverExceedsBurstPlusRate(
      @ForAll @Size(min = 1, max = 200) List<@IntRange(min = 0, max = 400) Integer> gaps,
      @ForAll @Size(min = 1, max = 10) List<@IntRange(min = 0, max = 4) Integer> hits,
      @ForAll @LongRange(min = 0, max = 12) long limit,
      @ForAll @LongRange(min = 1, max = 20) long burst,
      @ForAll @LongRange(min = 1, max = 5) long windowSeconds) {
    long w = windowSeconds * 1000;
    List<Arrival> admitted = admitted(arrivals(gaps, hits), Algorithm.TOKEN_BUCKET, limit, burst, windowSeconds);
    if (limit == 0) {
      assertThat(admitted).isEmpty();
      return;
    }
    for (int i = 0; i < admitted.size(); i++) {
      long sum = 0;
      for (int j = i; j < admitted.size(); j++) {
        sum += admitted.get(j).hits();
        long tau = admitted.get(j).atMillis() - admitted.get(i).atMillis();
        assertThat(sum).as("admitted in [%d, %d]", admitted.get(i).atMillis(), admitted.get(j).atMillis())
            .isLessThanOrEqualTo(burst + tau * limit / w);
      }
    }
  }

  @Property(tries = 25)
  void aTokenBucketAdmitsItsRateWhenFedSteadily(
      @ForAll @LongRange(min = 1, max = 50) long limit,
      @ForAll @LongRange(min = 1, max = 2) long windowSeconds) {
    // One hit every millisecond for 10 windows: the bucket admits its burst plus the rate, exactly.
    long w = windowSeconds * 1000;
    List<Integer> gaps = new ArrayList<>();
    for (int i = 0; i < 10 * w; i++) {
      gaps.add(i == 0 ? 0 : 1);
    }
    long admitted = admitted(arrivals(gaps, List.of(1)), Algorithm.TOKEN_BUCKET, limit, limit, windowSeconds)
        .size();
    long elapsed = 10 * w - 1;
    assertThat(admitted).isEqualTo(limit + elapsed * limit / w);
  }
}

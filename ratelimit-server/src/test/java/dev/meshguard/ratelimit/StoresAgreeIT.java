package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import dev.meshguard.testkit.redis.RedisServerProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The memory store ({@link Algorithms} in Java) and the Redis store ({@code ratelimit.lua}) give
 * the same outcome, field for field, for random requests mixing the three algorithms, several
 * counters per request (a counter twice, too), check-only hits and time jumps across windows.
 */
class StoresAgreeIT {

  private static RedisServerProcess redis;
  private static RedisStore store;

  @BeforeContainer
  static void start() {
    redis = RedisServerProcess.start();
    store = RedisStore.connect(StoreUri.parse(redis.uri()),
        RedisOptions.DEFAULTS.withCommandTimeout(Duration.ofSeconds(5)));
  }

  @AfterContainer
  static void stop() {
    store.close();
    redis.close();
  }

  @Property(tries = 80)
  void memoryAndRedisAgree(
      @ForAll @Size(3) List<Algorithm> algorithms,
      @ForAll @Size(3) List<@LongRange(min = 0, max = 15) Long> limits,
      @ForAll @Size(3) List<@LongRange(min = 0, max = 10) Long> extraBurst,
      @ForAll @Size(3) List<@IntRange(min = 1, max = 3) Integer> windows,
      @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 2500) Integer> gaps,
      @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 6) Integer> hits,
      @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 2) Integer> counters,
      @ForAll @IntRange(min = 1, max = 3) int perRequest,
      @ForAll @LongRange(min = 1_600_000_000_000L, max = 1_900_000_000_000L) long start) {
    ManualClock clock = new ManualClock(Instant.ofEpochMilli(start));
    MemoryStore memory = new MemoryStore(clock);
    CounterStore redisScoped = new CaseScopedStore(store, UUID.randomUUID() + "/");
    List<Hit> templates = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      long limit = limits.get(c);
      long burst = algorithms.get(c) == Algorithm.TOKEN_BUCKET ? limit + extraBurst.get(c) : limit;
      templates.add(new Hit(new CounterKey("c" + c), algorithms.get(c), limit, burst, windows.get(c), 0));
    }
    long now = start;
    int k = 0;
    for (int r = 0; r < gaps.size(); r++) {
      now += gaps.get(r);
      List<Hit> request = new ArrayList<>();
      for (int i = 0; i < perRequest; i++, k++) {
        Hit t = templates.get(counters.get(k % counters.size()));
        request.add(new Hit(t.counter(), t.algorithm(), t.limit(), t.burst(), t.windowSeconds(),
            hits.get(k % hits.size())));
      }
      Outcome[] fromMemory = memory.hit(request, now);
      Outcome[] fromRedis = redisScoped.hit(request, now);
      assertThat(fromRedis).as("request %d at %d: %s", r, now, request).containsExactly(fromMemory);
    }
  }
}

package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.Clock;
import dev.meshguard.testkit.Await;
import dev.meshguard.testkit.FreePorts;
import dev.meshguard.testkit.redis.RedisExtension;
import dev.meshguard.testkit.redis.RedisServerProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Redis failing under load: every call is still answered, by the failure mode, within the
 * command timeout (plus scheduling slack on a busy test machine), counted as a store error; and
 * the store recovers by itself when Redis is back.
 */
class RedisFaultsIT {

  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone();

  static final Duration TIMEOUT = Duration.ofMillis(100);
  /**
   * What a loaded 2-core test machine may add to a timeout (GC, scheduling): 673, 745 and 952 ms
   * were seen with several builds running beside the test, and a CI run failed on the last. The
   * bound (3 s) still fails on the stalls this guards against: envoyproxy/ratelimit's 10 s, a
   * client's default 60 s command timeout, a blocked call. The figures are printed.
   */
  static final Duration SLACK = Duration.ofMillis(2_900);
  static final RedisOptions OPTIONS = RedisOptions.DEFAULTS.withCommandTimeout(TIMEOUT);

  static final String CONFIG = """
      domain: d
      descriptors:
        - key: fixed
          rate_limit: {unit: second, requests_per_unit: 1000000}
        - key: bucket
          rate_limit: {unit: second, requests_per_unit: 1000000, algorithm: token_bucket}
      """;

  static List<List<Descriptor>> requests() {
    List<List<Descriptor>> requests = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      requests.add(List.of(Descriptor.of("fixed", "v" + i), Descriptor.of("bucket", "v" + i)));
    }
    return requests;
  }

  static RateLimitEngine engine(CounterStore store, FailureMode mode) throws Exception {
    RateLimitConfig config = RateLimitConfig.parse("d.yaml", CONFIG);
    return new RateLimitEngine(() -> config, store, Clock.SYSTEM, mode);
  }

  static void assertAnsweredInTime(List<Load.Answer> answers, FailureMode mode) {
    assertThat(answers).isNotEmpty();
    for (Load.Answer a : answers) {
      assertThat(a.tookNanos()).as("an answer's latency").isLessThanOrEqualTo(TIMEOUT.plus(SLACK).toNanos());
      if (a.storeFailed()) {
        assertThat(a.code()).isEqualTo(mode == FailureMode.ALLOW ? Code.OK : Code.OVER_LIMIT);
      }
    }
  }

  static String summary(List<Load.Answer> answers) {
    long failed = answers.stream().filter(Load.Answer::storeFailed).count();
    long max = answers.stream().mapToLong(Load.Answer::tookNanos).max().orElse(0);
    return answers.size() + " answers, " + failed + " by the failure mode, slowest "
        + TimeUnit.NANOSECONDS.toMillis(max) + " ms";
  }

  @Test
  void killedRedisIsAnsweredByTheFailureModeAndARestartIsPickedUp() throws Exception {
    try (RedisStore store = RedisStore.connect(StoreUri.parse(redis.uri()), OPTIONS)) {
      RateLimitEngine engine = engine(store, FailureMode.DENY);
      try (Load load = new Load(engine, "d", requests(), 4)) {
        load.awaitHealthy();

        long killedAt = System.nanoTime();
        redis.server().kill();
        Await.until(Duration.ofSeconds(10), () -> load.since(killedAt).stream().filter(Load.Answer::storeFailed)
            .count() > 200, () -> "answers by the failure mode while Redis is down");
        List<Load.Answer> down = load.since(killedAt);
        System.out.println("redis killed: " + summary(down));
        assertAnsweredInTime(down, FailureMode.DENY);
        assertThat(engine.storeErrors()).isGreaterThanOrEqualTo(200);

        long restartedAt = System.nanoTime();
        redis.server().restart();
        Await.until(Duration.ofSeconds(15), () -> load.since(restartedAt).stream().anyMatch(a -> !a.storeFailed()),
            () -> "a decision by Redis after its restart");
        long recovered = load.since(restartedAt).stream().filter(a -> !a.storeFailed())
            .mapToLong(Load.Answer::startedNanos).min().orElseThrow();
        System.out.println("redis restarted: store answered again after "
            + TimeUnit.NANOSECONDS.toMillis(recovered - restartedAt) + " ms; " + summary(load.since(restartedAt)));
        assertAnsweredInTime(load.since(restartedAt), FailureMode.DENY);
      }
    }
  }

  @Test
  void aStalledRedisIsAnsweredWhenTheTimeoutExpires() throws Exception {
    try (RedisStore store = RedisStore.connect(StoreUri.parse(redis.uri()), OPTIONS)) {
      RateLimitEngine engine = engine(store, FailureMode.ALLOW);
      assertThat(engine.decide("d", requests().get(0), 1).storeFailed()).isFalse();
      RedisClient client = RedisClient.create(redis.redisUri());
      try (StatefulRedisConnection<String, String> admin = client.connect();
          Load load = new Load(engine, "d", requests(), 4)) {
        long pausedAt = System.nanoTime();
        admin.sync().clientPause(1_500); // Redis stops serving clients for 1.5 s
        Await.until(Duration.ofSeconds(10), () -> load.since(pausedAt).stream().filter(Load.Answer::storeFailed)
            .count() > 8, () -> "timed-out answers while Redis is paused");
        List<Load.Answer> paused = load.since(pausedAt);
        System.out.println("redis paused: " + summary(paused));
        assertAnsweredInTime(paused, FailureMode.ALLOW);
        long timedOut = paused.stream().filter(Load.Answer::storeFailed).mapToLong(Load.Answer::tookNanos).min()
            .orElseThrow();
        assertThat(timedOut).as("a timed-out call waited for the timeout")
            .isGreaterThanOrEqualTo(TIMEOUT.toNanos() - TimeUnit.MILLISECONDS.toNanos(5));
        Await.until(Duration.ofSeconds(10), () -> load.since(pausedAt + TimeUnit.MILLISECONDS.toNanos(1_600))
            .stream().anyMatch(a -> !a.storeFailed()), () -> "decisions by Redis after the pause");
      } finally {
        client.shutdown();
      }
    }
  }

  @Test
  void unreachableAtStartTheStoreStartsAnywayAndConnectsWhenRedisComes() throws Exception {
    int port = FreePorts.port();
    try (RedisStore store = RedisStore.connect(StoreUri.parse("redis://127.0.0.1:" + port), OPTIONS)) {
      assertThat(store.connected()).isFalse();
      RateLimitEngine engine = engine(store, FailureMode.ALLOW);
      long start = System.nanoTime();
      RateLimitDecision failed = engine.decide("d", requests().get(0), 1);
      assertThat(System.nanoTime() - start).isLessThan(TIMEOUT.plus(SLACK).toNanos());
      assertThat(failed.storeFailed()).isTrue();
      assertThat(failed.overallCode()).isEqualTo(Code.OK);
      RedisServerProcess late = RedisServerProcess.start(port, List.of());
      try {
        Await.until(Duration.ofSeconds(15), () -> !engine.decide("d", requests().get(0), 1).storeFailed(),
            () -> "the store to connect to the late Redis");
        assertThat(store.connected()).isTrue();
      } finally {
        late.close();
      }
    }
  }
}

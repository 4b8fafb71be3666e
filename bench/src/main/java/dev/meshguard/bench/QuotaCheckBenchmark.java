package dev.meshguard.bench;

import dev.meshguard.core.time.Clock;
import dev.meshguard.ratelimit.Descriptor;
import dev.meshguard.ratelimit.FailureMode;
import dev.meshguard.ratelimit.QuotaOptions;
import dev.meshguard.ratelimit.RateLimitDecision;
import dev.meshguard.ratelimit.RateLimitEngine;
import dev.meshguard.ratelimit.RateLimitOptions;
import dev.meshguard.ratelimit.RateLimitServer;
import dev.meshguard.ratelimit.RedisOptions;
import dev.meshguard.testkit.redis.RedisServerProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * One {@link RateLimitEngine#decide} of the {@code quota} suite's two request kinds, for profiling
 * (JMH's {@code -prof gc}, {@code -prof stack}, {@code -prof jfr}): {@code plain}, a tenant
 * without a quota, and {@code quota}, tenant {@code acme} with the suite's two-limit quota, on the
 * same descriptor limit, on the memory store or on a local Redis. The suite's own figures come
 * from {@link QuotaSuite}; this class is the microscope used to find where the quota's time goes.
 *
 * <pre>
 *   java -cp bench/target/meshguard-bench.jar org.openjdk.jmh.Main QuotaCheckBenchmark -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class QuotaCheckBenchmark {

  /** {@code memory} or {@code redis}. */
  @Param({"memory"})
  public String store;

  /** {@code plain} or {@code quota}. */
  @Param({"plain", "quota"})
  public String kind;

  private RedisServerProcess redis;
  private Path dir;
  private ScheduledExecutorService scheduler;
  private RateLimitServer server;
  private RateLimitEngine engine;
  private List<Descriptor> descriptors;

  @Setup
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("quota-check-");
    Files.createDirectories(dir.resolve("limits"));
    Files.writeString(dir.resolve("limits/bench.yaml"), QuotaSuite.LIMITS);
    Files.createDirectories(dir.resolve("quotas"));
    Files.writeString(dir.resolve("quotas/acme.yaml"), QuotaSuite.ACME);
    RateLimitOptions options = new RateLimitOptions(dir.resolve("limits"), "127.0.0.1", 0, FailureMode.DENY,
        Duration.ofHours(1), 1_000_000).withQuota(new QuotaOptions(dir.resolve("quotas"),
        QuotaOptions.DEFAULT_TENANT_KEY, Duration.ofHours(1), QuotaOptions.DEFAULT_METRICS_TOP_TENANTS, null));
    if (store.equals("redis")) {
      redis = RedisServerProcess.start();
      options = options.withStore(redis.uri())
          .withRedis(RedisOptions.DEFAULTS.withCommandTimeout(Duration.ofSeconds(5)));
    }
    scheduler = Executors.newSingleThreadScheduledExecutor();
    server = RateLimitServer.start(options, Clock.SYSTEM, scheduler, new SimpleMeterRegistry());
    engine = server.engine();
    descriptors = List.of(Descriptor.of("tenant", kind.equals("quota") ? "acme" : "plain"));
    RateLimitDecision first = engine.decide("bench", descriptors, 1);
    if (first.storeFailed() || (first.quota() != null) != kind.equals("quota")) {
      throw new IllegalStateException(kind + ": unexpected first decision " + first);
    }
  }

  @TearDown
  public void tearDown() throws Exception {
    server.close();
    scheduler.shutdownNow();
    if (redis != null) {
      redis.close();
    }
    Dirs.delete(dir);
  }

  @Benchmark
  public RateLimitDecision decide() {
    return engine.decide("bench", descriptors, 1);
  }
}

package dev.meshguard.policy;

import static dev.meshguard.policy.Fixtures.allow;
import static dev.meshguard.policy.Fixtures.claims;
import static dev.meshguard.policy.Fixtures.deny;
import static dev.meshguard.policy.Fixtures.engine;
import static dev.meshguard.policy.Fixtures.http;
import static dev.meshguard.policy.Fixtures.op;
import static dev.meshguard.policy.Fixtures.rule;
import static dev.meshguard.policy.Fixtures.source;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The common decisions (allowed by a rule, denied for no ALLOW match) allocate nothing. */
class AllocationTest {

  @Test
  void commonDecisionsDoNotAllocate() {
    var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    assertThat(mx.isThreadAllocatedMemorySupported())
        .as("this test needs a HotSpot JVM (com.sun.management.ThreadMXBean allocation counters)").isTrue();
    var engine = engine(
        allow("foo", "api").rule(rule().from(source().principals("cluster.local/ns/web/sa/a"))
            .to(op().methods("GET").paths("/api/*")).when("request.auth.claims[groups]", "admins")),
        allow("foo", "port").rule(rule().to(op().hosts("example.com").ports("8080"))),
        deny("foo", "admin").rule(rule().to(op().paths("/admin*"))));
    var allowed = http("GET", "h", "/api/x?y=1").from("web", "a").jwt(claims("groups", List.of("admins"))).build();
    var denied = http("GET", "h", "/nope").from("web", "b").build();
    // Measured in rounds until C2 has compiled the path (its escape analysis removes the
    // protobuf map views); one quiet round is enough. Bounded by time, not a round count: on a
    // loaded machine the compiler threads are starved and 40 rounds once ran before C2 finished
    // (320,000 bytes, one object per call).
    long thread = Thread.currentThread().threadId();
    long best = Long.MAX_VALUE;
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(90);
    for (int round = 0; best >= 20_000 && (round < 40 || System.nanoTime() < deadline); round++) {
      long before = mx.getThreadAllocatedBytes(thread);
      long sink = 0;
      for (int i = 0; i < 10_000; i++) {
        sink += engine.evaluate(allowed, null).allowed() ? 1 : 0;
        sink += engine.evaluate(denied, null).allowed() ? 1 : 0;
      }
      best = Math.min(best, mx.getThreadAllocatedBytes(thread) - before);
      assertThat(sink).isEqualTo(10_000);
    }
    // A few hundred bytes of slack for the JVM's own bookkeeping; one object per call would be 320 KB.
    assertThat(best).isLessThan(20_000);
  }
}

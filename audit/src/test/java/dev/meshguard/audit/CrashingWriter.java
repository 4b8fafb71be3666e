package dev.meshguard.audit;

import dev.meshguard.core.time.Clock;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The child process of {@link AuditCrashIT}: appends durable events from several threads as fast
 * as it can and prints each id once {@link AuditLog#append} has returned WRITTEN, until it is
 * killed. Not a test itself.
 */
public final class CrashingWriter {
  private CrashingWriter() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int threads = Integer.parseInt(args[1]);
    AuditLog log = AuditLog.open(AuditOptions.builder(dir).maxSegmentBytes(64 * 1024).build(), Clock.SYSTEM);
    PrintStream out = System.out;
    AtomicInteger counter = new AtomicInteger();
    for (int t = 0; t < threads; t++) {
      Thread.ofPlatform().start(() -> {
        while (true) {
          String id = EventIds.next(Clock.SYSTEM);
          AppendOutcome outcome = log.append(new AuditEvent(Clock.SYSTEM.now(), id, "ca", "issue", "issued", null,
              new AuditEvent.AuditObject(null, null, null, null, null, Integer.toHexString(counter.incrementAndGet()),
                  "spiffe://td/ns/crash/sa/test"), null, null, 1), Durability.DURABLE);
          if (outcome == AppendOutcome.WRITTEN) {
            synchronized (out) {
              out.println(id);
              out.flush();
            }
          }
        }
      });
    }
    out.println("started");
    out.flush();
  }
}

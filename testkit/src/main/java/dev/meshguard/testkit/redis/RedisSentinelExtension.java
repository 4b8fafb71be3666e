package dev.meshguard.testkit.redis;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real Redis Sentinel set-up ({@link RedisSentinel}: master, replica, three Sentinels) for the
 * tests of one class, registered on a static field:
 *
 * <pre>{@code
 * @RegisterExtension static final RedisSentinelExtension sentinel = new RedisSentinelExtension();
 * }</pre>
 *
 * <p>It starts before the first test and stops after the last one. Tests that kill a server
 * should restart it. When a test fails, the end of every process's log goes to standard error.
 */
public final class RedisSentinelExtension implements BeforeAllCallback, AfterAllCallback, TestWatcher {
  private static final int LOG_LINES_ON_FAILURE = 25;

  private volatile RedisSentinel setUp;
  private volatile String owner;

  @Override
  public void beforeAll(ExtensionContext context) {
    if (setUp == null) {
      setUp = RedisSentinel.start();
      owner = context.getUniqueId();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getUniqueId().equals(owner)) {
      RedisSentinel started = setUp;
      setUp = null;
      owner = null;
      started.close();
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    RedisSentinel running = setUp;
    if (running == null) {
      return;
    }
    StringBuilder logs = new StringBuilder();
    for (RedisServerProcess p : running.servers()) {
      logs.append(String.format("%n--- data %s:%n%s%n", p, p.logTail(LOG_LINES_ON_FAILURE)));
    }
    for (RedisServerProcess p : running.sentinels()) {
      logs.append(String.format("%n--- sentinel %s:%n%s%n", p, p.logTail(LOG_LINES_ON_FAILURE)));
    }
    System.err.printf("%s failed; the logs of the Sentinel set-up end with:%s", context.getDisplayName(), logs);
  }

  /** The running set-up. */
  public RedisSentinel sentinel() {
    RedisSentinel running = setUp;
    if (running == null) {
      throw new IllegalStateException(
          "RedisSentinelExtension is not running: register it with @RegisterExtension on a static field");
    }
    return running;
  }
}

package dev.meshguard.testkit.redis;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real standalone Redis for the tests of one class:
 *
 * <pre>{@code
 * @RegisterExtension static final RedisExtension redis = RedisExtension.standalone();
 * }</pre>
 *
 * <p>The server starts before the first test of the class and stops after the last one. It must be
 * registered on a static field: on an instance field JUnit does not call it before all tests, and
 * the accessors fail. {@code @Nested} classes share their outer class's server. When a test fails,
 * the end of the server's log goes to standard error.
 */
public final class RedisExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, TestWatcher {
  private static final int LOG_LINES_ON_FAILURE = 40;
  private static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(10);

  private final boolean flushBeforeEach;
  private volatile RedisServerProcess server;
  private volatile String owner; // the unique id of the class context that started the server

  private RedisExtension(boolean flushBeforeEach) {
    this.flushBeforeEach = flushBeforeEach;
  }

  /** A server whose data lives for the whole test class. */
  public static RedisExtension standalone() {
    return new RedisExtension(false);
  }

  /** A copy of this extension that empties the server (FLUSHALL) before each test. */
  public RedisExtension flushingBeforeEach() {
    return new RedisExtension(true);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (server == null) {
      server = RedisServerProcess.start();
      owner = context.getUniqueId();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getUniqueId().equals(owner)) {
      RedisServerProcess started = server;
      server = null;
      owner = null;
      started.close();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (flushBeforeEach) {
      flushAll();
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    RedisServerProcess running = server;
    if (running != null) {
      System.err.printf(
          "%s failed; the log of %s ends with:%n%s%n",
          context.getDisplayName(), running, running.logTail(LOG_LINES_ON_FAILURE));
    }
  }

  /** Deletes every key in every database of the server. */
  public void flushAll() {
    RedisServerProcess running = server();
    try {
      String reply = InlineCommand.send(running.host(), running.port(), "FLUSHALL", FLUSH_TIMEOUT);
      if (!"+OK".equals(reply)) {
        throw new IllegalStateException("FLUSHALL on " + running + " answered " + reply);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("FLUSHALL on " + running + " failed", e);
    }
  }

  /** The running server, to stop, kill or restart it. */
  public RedisServerProcess server() {
    RedisServerProcess running = server;
    if (running == null) {
      throw new IllegalStateException(
          "RedisExtension is not running: register it with @RegisterExtension on a static field");
    }
    return running;
  }

  public String host() {
    return server().host();
  }

  public int port() {
    return server().port();
  }

  /** The URI for a Lettuce client, e.g. {@code redis://127.0.0.1:16379}. */
  public String uri() {
    return server().uri();
  }

  public RedisURI redisUri() {
    return server().redisUri();
  }
}

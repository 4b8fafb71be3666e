package dev.meshguard.ratelimit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a Redis server says it executed: {@code INFO commandstats}, read by a connection of its
 * own (its INFO calls count as {@code info}, not as the commands asked about).
 */
final class CommandStats {
  private static final Pattern CALLS = Pattern.compile("^cmdstat_([a-z|]+):calls=(\\d+)", Pattern.MULTILINE);

  private CommandStats() {}

  /** Calls of {@code command} (lower case, e.g. {@code evalsha}) since the server started. */
  static long calls(RedisURI server, String command) {
    RedisClient client = RedisClient.create(server);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      Matcher m = CALLS.matcher(connection.sync().info("commandstats"));
      while (m.find()) {
        if (m.group(1).equals(command)) {
          return Long.parseLong(m.group(2));
        }
      }
      return 0;
    } finally {
      client.shutdown();
    }
  }

  /** EVAL plus EVALSHA calls: the script calls, i.e. the store's round trips. */
  static long scriptCalls(RedisURI server) {
    return calls(server, "evalsha") + calls(server, "eval");
  }
}

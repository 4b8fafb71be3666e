package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class RedisSentinelIT {

  @Test
  void aKilledMasterIsReplacedByItsReplicaAndComesBackAsAReplica() {
    try (RedisSentinel setUp = RedisSentinel.start()) {
      RedisServerProcess first = setUp.master();
      assertThat(first).isEqualTo(setUp.servers().get(0));
      assertThat(setUp.uri()).startsWith("redis-sentinel://127.0.0.1:").endsWith("/" + RedisSentinel.MASTER_NAME);

      RedisServerProcess killed = setUp.killMaster();
      RedisServerProcess promoted = setUp.awaitFailover(killed);
      assertThat(promoted).isEqualTo(setUp.servers().get(1));

      // A client that asks the Sentinels finds the new master and may write to it.
      InetSocketAddress sentinel = setUp.sentinelAddresses().get(0);
      RedisURI uri = RedisURI.Builder.sentinel(sentinel.getHostString(), sentinel.getPort(), RedisSentinel.MASTER_NAME)
          .build();
      RedisClient client = RedisClient.create(uri);
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        assertThat(c.sync().set("k", "v")).isEqualTo("OK");
      } finally {
        client.shutdown();
      }

      setUp.restart(killed);
      assertThat(setUp.master()).isEqualTo(promoted);
    }
  }
}

package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisExtensionIT {
  @RegisterExtension
  static final RedisExtension redis = RedisExtension.standalone().flushingBeforeEach();

  private RedisClient client;
  private StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> commands;

  @BeforeEach
  void connect() {
    client = RedisClient.create(redis.uri());
    connection = client.connect();
    commands = connection.sync();
  }

  @AfterEach
  void disconnect() {
    connection.close();
    client.shutdown();
  }

  @Test
  @Order(1)
  void servesARealRedisOnLoopback() {
    assertThat(redis.host()).isEqualTo("127.0.0.1");
    assertThat(redis.uri()).isEqualTo("redis://127.0.0.1:" + redis.port());
    assertThat(redis.redisUri().getPort()).isEqualTo(redis.port());

    commands.set("left-behind", "by the first test");

    assertThat(commands.get("left-behind")).isEqualTo("by the first test");
  }

  @Test
  @Order(2)
  void emptiesTheServerBeforeEachTest() {
    assertThat(commands.dbsize()).isZero();
  }

  @Nested
  class InANestedClass {
    @Test
    void sharesTheOuterClassServer() {
      assertThat(redis.server().isRunning()).isTrue();
      assertThat(commands.ping()).isEqualTo("PONG");
    }
  }
}

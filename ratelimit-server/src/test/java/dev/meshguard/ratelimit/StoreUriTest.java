package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.ratelimit.StoreUri.Auth;
import dev.meshguard.ratelimit.StoreUri.HostPort;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StoreUriTest {

  static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("memory", new StoreUri.Memory(), "memory"),
        Arguments.of(" MEMORY ", new StoreUri.Memory(), "memory"),
        Arguments.of("redis://localhost", new StoreUri.Standalone(new HostPort("localhost", 6379), 0, Auth.NONE),
            "redis://localhost:6379"),
        Arguments.of("redis://10.0.0.1:7000/3", new StoreUri.Standalone(new HostPort("10.0.0.1", 7000), 3, Auth.NONE),
            "redis://10.0.0.1:7000/3"),
        Arguments.of("rediss://:s3cret@redis.example:6380",
            new StoreUri.Standalone(new HostPort("redis.example", 6380), 0, new Auth(true, null, "s3cret")),
            "rediss://:***@redis.example:6380"),
        Arguments.of("redis://meshguard:p%40ss@[::1]:6379",
            new StoreUri.Standalone(new HostPort("::1", 6379), 0, new Auth(false, "meshguard", "p@ss")),
            "redis://meshguard:***@[::1]:6379"),
        Arguments.of("redis-cluster://a:7000,b:7001,c",
            new StoreUri.Cluster(List.of(new HostPort("a", 7000), new HostPort("b", 7001), new HostPort("c", 6379)),
                Auth.NONE),
            "redis-cluster://a:7000,b:7001,c:6379"),
        Arguments.of("rediss-cluster://pw@a:7000",
            new StoreUri.Cluster(List.of(new HostPort("a", 7000)), new Auth(true, null, "pw")),
            "rediss-cluster://:***@a:7000"),
        Arguments.of("redis-sentinel://s1:26379,s2,s3:26380/mymaster",
            new StoreUri.Sentinel(List.of(new HostPort("s1", 26379), new HostPort("s2", 26379),
                new HostPort("s3", 26380)), "mymaster", 0, Auth.NONE),
            "redis-sentinel://s1:26379,s2:26379,s3:26380/mymaster"),
        Arguments.of("redis-sentinel://s1/mymaster/2",
            new StoreUri.Sentinel(List.of(new HostPort("s1", 26379)), "mymaster", 2, Auth.NONE),
            "redis-sentinel://s1:26379/mymaster"));
  }

  @ParameterizedTest
  @MethodSource("valid")
  void parses(String text, StoreUri expected, String shown) {
    StoreUri parsed = StoreUri.parse(text);
    assertThat(parsed).isEqualTo(expected);
    assertThat(parsed.toString()).isEqualTo(shown).doesNotContain("s3cret", "p@ss");
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("redis", "no scheme"),
        Arguments.of("postgres://x", "unknown scheme 'postgres'"),
        Arguments.of("redis://", "no host"),
        Arguments.of("redis://a:6379,b:6379", "one host expected; for several use redis-cluster:// or redis-sentinel://"),
        Arguments.of("redis://a:port", "port must be a number, found 'port'"),
        Arguments.of("redis://a:70000", "port must be between 1 and 65535, found 70000"),
        Arguments.of("redis://a/x", "database must be a number >= 0, found 'x'"),
        Arguments.of("redis-cluster://a:1,,b:2", "empty host in 'a:1,,b:2'"),
        Arguments.of("redis-cluster://a:1/0", "a cluster has no database or path"),
        Arguments.of("redis-sentinel://s1:26379", "no master name: add /MASTER after the sentinels"),
        Arguments.of("redis-sentinel://s1:26379/", "no master name"),
        Arguments.of("redis://u:hunter2@[::1", "unclosed '[' in '[::1'"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void refusesWithWhatIsWrongAndNoPassword(String text, String why) {
    assertThatThrownBy(() -> StoreUri.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(": " + why + "; expected memory, redis://host:port")
        .message().doesNotContain("hunter2");
  }
}

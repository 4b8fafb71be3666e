/**
 * Real Redis processes for tests.
 *
 * <ul>
 *   <li>{@link dev.meshguard.testkit.redis.RedisExtension} and {@link
 *       dev.meshguard.testkit.redis.RedisClusterExtension}: JUnit 5 extensions that run a
 *       standalone server or a cluster for the tests of one class.
 *   <li>{@link dev.meshguard.testkit.redis.RedisServerProcess} and {@link
 *       dev.meshguard.testkit.redis.RedisCluster}: the same without JUnit, to start, stop, kill and
 *       restart by hand.
 *   <li>{@link dev.meshguard.testkit.redis.RedisBinary}: the {@code redis-server} they run, from
 *       {@code PATH} (Debian: Redis 7.0) or from the embedded-redis jar (Redis 6.2).
 * </ul>
 *
 * <p>Everything here works with Redis 6.2 and 7.0 alike. Servers listen on 127.0.0.1 only, keep
 * their files in a directory of their own under {@code java.io.tmpdir}, and are killed when the JVM
 * exits if a test left them running.
 */
package dev.meshguard.testkit.redis;

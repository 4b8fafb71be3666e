package dev.meshguard.ratelimit;

import dev.meshguard.testkit.FreePorts;
import dev.meshguard.testkit.redis.RedisServerProcess;
import dev.meshguard.testkit.tls.CertFiles;
import dev.meshguard.testkit.tls.TestCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real {@code redis-server} serving TLS ({@code --tls-port}; testkit's binary, from the
 * embedded-redis artifact, is built with TLS) with a certificate for {@link RedisServerProcess#HOST}
 * from a fresh test CA. The plain port stays for the fixture's start-up check (PING) and for
 * reading Redis's own command counts; clients under test use {@link #uri()}. No client
 * certificates: meshguard authenticates to Redis with a password, not mutual TLS.
 */
final class TlsRedis implements AutoCloseable {

  final Path dir;
  final TestCa ca;
  final Path caFile;
  final int tlsPort;
  final RedisServerProcess redis;

  private TlsRedis(Path dir, TestCa ca, Path caFile, int tlsPort, RedisServerProcess redis) {
    this.dir = dir;
    this.ca = ca;
    this.caFile = caFile;
    this.tlsPort = tlsPort;
    this.redis = redis;
  }

  /** @param tlsArgs more {@code redis-server} arguments, e.g. {@code --tls-ciphersuites} */
  static TlsRedis start(String... tlsArgs) throws Exception {
    Path dir = Files.createTempDirectory("meshguard-redis-tls-");
    TestCa ca = TestCa.create("redis.test");
    CertFiles server = ca.leaf("spiffe://redis.test/redis").ipAddress(RedisServerProcess.HOST).issue()
        .writeTo(dir, "redis");
    Path caFile = ca.writeBundle(dir.resolve("ca.pem"));
    int tlsPort = FreePorts.port();
    List<String> args = new ArrayList<>(List.of("--tls-port", Integer.toString(tlsPort),
        "--tls-cert-file", server.chain().toString(), "--tls-key-file", server.key().toString(),
        "--tls-ca-cert-file", caFile.toString(), "--tls-auth-clients", "no"));
    args.addAll(List.of(tlsArgs));
    return new TlsRedis(dir, ca, caFile, tlsPort, RedisServerProcess.start(args));
  }

  StoreUri uri() {
    return StoreUri.parse("rediss://" + RedisServerProcess.HOST + ":" + tlsPort);
  }

  @Override
  public void close() {
    redis.close();
  }
}

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
 * reading Redis's own command counts; clients under test use {@link #uri()}. {@link #start}
 * accepts clients without a certificate ({@code tls-auth-clients no});
 * {@link #startRequiringClientCertificates} refuses them ({@code tls-auth-clients yes}: a client
 * certificate chaining to {@link #caFile}, as {@link #issueClient} makes, is required).
 */
final class TlsRedis implements AutoCloseable {

  final Path dir;
  final TestCa ca;
  final Path caFile;
  /** Redis's own certificate (chain) and key, for a Sentinel beside it. */
  final CertFiles server;
  final int tlsPort;
  final RedisServerProcess redis;

  private TlsRedis(Path dir, TestCa ca, Path caFile, CertFiles server, int tlsPort, RedisServerProcess redis) {
    this.dir = dir;
    this.ca = ca;
    this.caFile = caFile;
    this.server = server;
    this.tlsPort = tlsPort;
    this.redis = redis;
  }

  /** @param tlsArgs more {@code redis-server} arguments, e.g. {@code --tls-ciphersuites} */
  static TlsRedis start(String... tlsArgs) throws Exception {
    return start(false, tlsArgs);
  }

  /** As {@link #start}, with {@code tls-auth-clients yes}: TLS clients must present a certificate. */
  static TlsRedis startRequiringClientCertificates(String... tlsArgs) throws Exception {
    return start(true, tlsArgs);
  }

  private static TlsRedis start(boolean authClients, String... tlsArgs) throws Exception {
    Path dir = Files.createTempDirectory("meshguard-redis-tls-");
    TestCa ca = TestCa.create("redis.test");
    CertFiles server = ca.leaf("spiffe://redis.test/redis").ipAddress(RedisServerProcess.HOST).issue()
        .writeTo(dir, "redis");
    Path caFile = ca.writeBundle(dir.resolve("ca.pem"));
    int tlsPort = FreePorts.port();
    List<String> args = new ArrayList<>(List.of("--tls-port", Integer.toString(tlsPort),
        "--tls-cert-file", server.chain().toString(), "--tls-key-file", server.key().toString(),
        "--tls-ca-cert-file", caFile.toString(), "--tls-auth-clients", authClients ? "yes" : "no"));
    args.addAll(List.of(tlsArgs));
    return new TlsRedis(dir, ca, caFile, server, tlsPort, RedisServerProcess.start(args));
  }

  /** A client certificate from this Redis's CA, written to {@link #dir} ({@code name}-chain.crt, {@code name}.key). */
  CertFiles issueClient(String name) {
    return ca.leaf("spiffe://redis.test/" + name).issue().writeTo(dir, name);
  }

  StoreUri uri() {
    return StoreUri.parse("rediss://" + RedisServerProcess.HOST + ":" + tlsPort);
  }

  @Override
  public void close() {
    redis.close();
  }
}

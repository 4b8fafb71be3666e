package dev.meshguard.authz;

import dev.meshguard.audit.AuditEvent;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A real {@link AuthzServer} on a free port with a plaintext client; closes both. */
final class AuthzFixture implements AutoCloseable {

  /** v1 of the test policies: namespace shop, workload app=orders. */
  static final String POLICIES = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: orders, namespace: shop}
      spec:
        selector: {matchLabels: {app: orders}}
        action: ALLOW
        rules:
        - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
          to: [{operation: {methods: ["GET", "DELETE"], paths: ["/orders*"]}}]
        - from: [{source: {principals: ["cluster.local/ns/db/sa/backup"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-admin, namespace: shop}
      spec:
        action: DENY
        rules:
        - to: [{operation: {paths: ["/admin*"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: audit-deletes, namespace: shop}
      spec:
        action: AUDIT
        rules:
        - to: [{operation: {methods: ["DELETE"]}}]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: shadow-deny-secret
        namespace: shop
        annotations: {istio.io/dry-run: "true"}
      spec:
        action: DENY
        rules:
        - to: [{operation: {paths: ["/orders/secret"]}}]
      """;

  static final String FRONTEND = "spiffe://cluster.local/ns/web/sa/frontend";
  static final String BACKUP = "spiffe://cluster.local/ns/db/sa/backup";

  static Crypto crypto() {
    try {
      return Crypto.install(CryptoMode.DEFAULT);
    } catch (ConfigException e) {
      throw new IllegalStateException(e);
    }
  }

  final Path dir;
  final Path policyFile;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final List<AuditEvent> audited = new CopyOnWriteArrayList<>();
  final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  final AuthzServer server;
  final ManagedChannel channel;
  final AuthorizationGrpc.AuthorizationBlockingStub stub;

  /** Writes {@link #POLICIES} into {@code dir/policies} and starts with {@code options} pointed there. */
  static AuthzFixture start(Path dir, AuthzOptions options) throws IOException, ConfigException {
    return start(dir, options, POLICIES, null);
  }

  static AuthzFixture start(Path dir, AuthzOptions options, String policies, DecisionAudit audit)
      throws IOException, ConfigException {
    Path policyDir = Files.createDirectories(dir.resolve("policies"));
    Path file = policyDir.resolve("shop.yaml");
    Files.writeString(file, policies);
    return new AuthzFixture(dir, file, options.toBuilder().policies(List.of(policyDir)).port(0).httpPort(0).build(),
        audit);
  }

  private AuthzFixture(Path dir, Path policyFile, AuthzOptions options, DecisionAudit audit)
      throws IOException, ConfigException {
    this.dir = dir;
    this.policyFile = policyFile;
    DecisionAudit sink = audit != null ? audit : audited::add;
    // A long poll interval: tests reload with reloadIfChanged() when they mean to.
    this.server = AuthzServer.start(options.toBuilder().reloadInterval(java.time.Duration.ofHours(1)).build(), crypto(),
        Clock.SYSTEM, scheduler, registry, sink);
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    this.stub = AuthorizationGrpc.newBlockingStub(channel);
  }

  void rewrite(String policies) {
    try {
      Files.writeString(policyFile, policies);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  double counter(String name, String... tags) {
    var search = registry.find(name);
    if (tags.length > 0) {
      search = search.tags(tags);
    }
    var c = search.counter();
    if (c != null) {
      return c.count();
    }
    var f = search.functionCounter();
    return f == null ? 0 : f.count();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    scheduler.shutdownNow();
  }
}

package dev.meshguard.bench;

import com.google.protobuf.Timestamp;
import dev.meshguard.audit.AuditConfig;
import dev.meshguard.audit.AuditLog;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.Durability;
import dev.meshguard.authz.AuthzOptions;
import dev.meshguard.authz.AuthzServer;
import dev.meshguard.authz.DecisionAudit;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.server.GrpcServer;
import dev.meshguard.core.time.Clock;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The two servers authz-load drives, started in this JVM on the same grpc-java/Netty setup
 * ({@link GrpcServer}: the same transport, event loops and grpc's default call executor), and the
 * client channels to each:
 *
 * <ul>
 *   <li>{@link #MESHGUARD}: {@link AuthzServer} through its public {@code start}, as the CLI starts
 *       it, with (by default) {@value #POLICIES} AuthorizationPolicies all in scope of the requests' workload
 *       ({@link #policies}), allows audited at {@value #AUDIT_ALLOW_SAMPLE_RATE} (the README's
 *       setting) and denies always, into an {@link AuditLog} with the durability the server's
 *       component has by default (buffered);
 *   <li>{@link #NULL}: a Check service that answers OK at once, the floor any ext_authz server on
 *       this stack stands on.
 * </ul>
 */
final class AuthzLoadTargets implements AutoCloseable {
  static final String MESHGUARD = "meshguard";
  static final String NULL = "null";
  static final int POLICIES = 1000;
  static final double AUDIT_ALLOW_SAMPLE_RATE = 0.01;
  static final String NAMESPACE = "shop";
  static final String FRONTEND = "spiffe://cluster.local/ns/web/sa/frontend";
  /** The one ALLOW policy the allowed requests match; last of the file and of the names. */
  static final String MATCHING_POLICY = "policy-9999-allow-frontend";
  static final String DENY_POLICY = "policy-9998-deny-export";
  /** Every {@value}th request of the pool goes to a denied path, so the audit log sees every one of those. */
  static final int DENY_EVERY = 20;
  static final int REQUEST_POOL = 100;

  private final ScheduledExecutorService scheduler;
  private final AuditLog audit;
  private final AuthzServer meshguard;
  private final GrpcServer nullServer;
  private final Map<String, List<ManagedChannel>> channels = new LinkedHashMap<>();

  private AuthzLoadTargets(ScheduledExecutorService scheduler, AuditLog audit, AuthzServer meshguard,
      GrpcServer nullServer) {
    this.scheduler = scheduler;
    this.audit = audit;
    this.meshguard = meshguard;
    this.nullServer = nullServer;
  }

  /**
   * Writes {@code policyCount} policies ({@link #policies}) under {@code dir}, opens the audit log
   * there, starts both servers and {@code channelsEach} plaintext channels to each.
   */
  static AuthzLoadTargets start(Path dir, int policyCount, int channelsEach) throws IOException, ConfigException {
    Path policyDir = Files.createDirectories(dir.resolve("policies"));
    Files.writeString(policyDir.resolve(NAMESPACE + ".yaml"), policies(policyCount));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "authz-load-reload");
      thread.setDaemon(true);
      return thread;
    });
    AuditLog audit = null;
    AuthzServer meshguard = null;
    try {
      audit = AuditLog.open(AuditOptions.builder(dir.resolve("audit")).build(), Clock.SYSTEM);
      AuditLog log = audit;
      Durability durability = AuditConfig.DEFAULTS.durabilityOf(AuthzServer.COMPONENT);
      DecisionAudit toAudit = event -> log.append(event, durability);
      // The defaults (reload poll every 2 s included) but the port and the allow sampling; the
      // HTTP service mode is not what this suite measures (and must not hold 9192).
      AuthzOptions options = AuthzOptions.builder().policies(List.of(policyDir)).port(0)
          .httpPort(AuthzOptions.HTTP_DISABLED).auditAllowSampleRate(AUDIT_ALLOW_SAMPLE_RATE).build();
      Crypto crypto = Crypto.install(CryptoMode.DEFAULT);
      meshguard = AuthzServer.start(options, crypto, Clock.SYSTEM, scheduler, new SimpleMeterRegistry(), toAudit);
      GrpcServer nullServer = GrpcServer.builder().bindAddress(options.host()).port(0)
          .addService(new NullAuthorization()).start();
      nullServer.markServing();
      AuthzLoadTargets targets = new AuthzLoadTargets(scheduler, audit, meshguard, nullServer);
      targets.channels.put(NULL, channels(options.host(), nullServer.port(), channelsEach));
      targets.channels.put(MESHGUARD, channels(options.host(), meshguard.port(), channelsEach));
      return targets;
    } catch (IOException | ConfigException | RuntimeException e) {
      if (meshguard != null) {
        meshguard.close();
      }
      if (audit != null) {
        audit.close();
      }
      scheduler.shutdownNow();
      throw e;
    }
  }

  private static List<ManagedChannel> channels(String host, int port, int count) {
    List<ManagedChannel> list = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      // Direct executor: responses are handled on the event loop; the handlers only record.
      list.add(NettyChannelBuilder.forAddress(host, port).usePlaintext().directExecutor().build());
    }
    return list;
  }

  List<ManagedChannel> channels(String target) {
    List<ManagedChannel> list = channels.get(target);
    if (list == null) {
      throw new IllegalArgumentException("no target " + target);
    }
    return list;
  }

  /** The blocking stub of {@code target}'s first channel, to check answers before the load. */
  AuthorizationGrpc.AuthorizationBlockingStub blocking(String target) {
    return AuthorizationGrpc.newBlockingStub(channels(target).getFirst());
  }

  /** Events the audit log has written so far. */
  long auditWritten() {
    return audit.writtenCount();
  }

  /** Audit appends refused (queue full past its bound) so far. */
  long auditRejected() {
    return audit.rejectedCount();
  }

  /** The number of policies the meshguard server serves. */
  int servedPolicies() {
    return meshguard.snapshot().policyCount();
  }

  @Override
  public void close() {
    for (List<ManagedChannel> list : channels.values()) {
      list.forEach(ManagedChannel::shutdownNow);
      for (ManagedChannel channel : list) {
        try {
          channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    nullServer.close();
    meshguard.close();
    audit.close();
    scheduler.shutdownNow();
  }

  /** The null Check server: OK at once, with an empty {@code ok_response}, as a minimal allow. */
  static final class NullAuthorization extends AuthorizationGrpc.AuthorizationImplBase {
    private static final CheckResponse OK = CheckResponse.newBuilder()
        .setStatus(com.google.rpc.Status.newBuilder().setCode(0))
        .setOkResponse(OkHttpResponse.getDefaultInstance())
        .build();

    @Override
    public void check(CheckRequest request, StreamObserver<CheckResponse> responseObserver) {
      responseObserver.onNext(OK);
      responseObserver.onCompleted();
    }
  }

  /**
   * {@code count} (at most 9,998) AuthorizationPolicies in namespace {@value #NAMESPACE}, half with
   * the selector {@code app: orders}, half namespace-wide, so every one is in scope of the requests'
   * workload. Deterministic. Of the first {@code count - 2}: 70% ALLOW for other callers and other services
   * (principals or namespaces, methods, prefix and exact paths, 30% with an {@code x-tenant}
   * header condition), 10% ALLOW near misses on {@code /orders/*} for other service accounts of
   * the caller's namespace (the path matches, the principal does not), 20% DENY that the requests
   * never trigger (admin paths, quarantined namespaces, a debug header). Then
   * {@value #DENY_POLICY} (DENY {@code /orders/export*}) and {@value #MATCHING_POLICY}, the only
   * ALLOW the requests match (the frontend's principal, GET/POST, {@code /orders/*} and
   * {@code x-tenant: acme}): last in the file and in name order.
   */
  static String policies(int count) {
    if (count < 2 || count > 9998) {
      throw new IllegalArgumentException("count must be between 2 and 9998, found " + count);
    }
    StringBuilder yaml = new StringBuilder();
    for (int i = 0; i < count - 2; i++) {
      String name = String.format(Locale.ROOT, "policy-%04d", i);
      String selector = i % 2 == 0 ? "  selector: {matchLabels: {app: orders}}\n" : "";
      String spec = switch (i % 10) {
        case 0, 1, 2, 3, 4, 5, 6 -> {
          String from = i % 3 == 0
              ? "{source: {namespaces: [\"team-" + (i % 40) + "\"]}}"
              : "{source: {principals: [\"cluster.local/ns/team-" + (i % 40) + "/sa/svc-" + i + "\"]}}";
          String methods = i % 4 == 0 ? "" : "methods: [\"GET\", \"POST\"], ";
          String to = "{operation: {" + methods + "paths: [\"/api/svc-" + i + "/*\", \"/v" + (i % 3) + "/svc-" + i
              + "\"]}}";
          String when = i % 10 < 3 ? "\n    when: [{key: \"request.headers[x-tenant]\", values: [\"tenant-" + i + "\"]}]"
              : "";
          yield "  action: ALLOW\n  rules:\n  - from: [" + from + "]\n    to: [" + to + "]" + when + "\n";
        }
        case 7 -> "  action: ALLOW\n  rules:\n  - from: [{source: {principals: [\"cluster.local/ns/web/sa/other-" + i
            + "\"]}}]\n    to: [{operation: {paths: [\"/orders/*\"]}}]\n";
        case 8 -> "  action: DENY\n  rules:\n  - to: [{operation: {paths: [\"/api/svc-" + i + "/admin*\"]}}]\n"
            + "  - from: [{source: {namespaces: [\"quarantine-" + i + "\"]}}]\n";
        default -> "  action: DENY\n  rules:\n  - when: [{key: \"request.headers[x-debug]\", values: [\"on-" + i
            + "\"]}]\n";
      };
      policy(yaml, name, selector + spec);
    }
    policy(yaml, DENY_POLICY, "  action: DENY\n  rules:\n  - to: [{operation: {paths: [\"/orders/export*\"]}}]\n");
    policy(yaml, MATCHING_POLICY, """
          selector: {matchLabels: {app: orders}}
          action: ALLOW
          rules:
          - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
            to: [{operation: {methods: ["GET", "POST"], paths: ["/orders/*"]}}]
            when: [{key: "request.headers[x-tenant]", values: ["acme"]}]
        """);
    return yaml.toString();
  }

  private static void policy(StringBuilder yaml, String name, String spec) {
    if (!yaml.isEmpty()) {
      yaml.append("---\n");
    }
    yaml.append("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n")
        .append("metadata: {name: ").append(name).append(", namespace: ").append(NAMESPACE).append("}\n")
        .append("spec:\n").append(spec);
  }

  /** Whether the request at {@code index} of {@link #requests()} is one meshguard denies. */
  static boolean deniedAt(int index) {
    return index % DENY_EVERY == DENY_EVERY - 1;
  }

  /**
   * {@value #REQUEST_POOL} CheckRequests shaped as Envoy's HTTP ext_authz filter builds them (the
   * shape of authz-server's test helper {@code EnvoyCheckRequests}, Envoy's
   * {@code check_request_utils.cc}): the frontend's SPIFFE ID as {@code source.principal}, socket
   * addresses, the route's {@code context_extensions} naming the workload (as
   * {@code deploy/envoy/envoy.yaml} does), and {@code request.http} with the raw path and its
   * query, lower-case header keys with the pseudo-headers, and the headers Envoy adds. GET and POST
   * to {@code /orders/<id>}; every {@value #DENY_EVERY}th a GET to {@code /orders/export}, denied.
   */
  static List<CheckRequest> requests() {
    List<CheckRequest> requests = new ArrayList<>(REQUEST_POOL);
    for (int i = 0; i < REQUEST_POOL; i++) {
      boolean post = !deniedAt(i) && i % 4 == 1;
      String method = post ? "POST" : "GET";
      String path = deniedAt(i) ? "/orders/export?format=csv&day=" + (i % 28 + 1)
          : "/orders/" + (10_000 + i * 7) + "?view=full&page=" + (i % 5);
      String host = "orders.shop.svc.cluster.local";
      Map<String, String> headers = new LinkedHashMap<>();
      // Pseudo-headers first, as Envoy's header map holds them.
      headers.put(":authority", host);
      headers.put(":path", path);
      headers.put(":method", method);
      headers.put(":scheme", "http");
      headers.put("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)");
      headers.put("accept", "application/json");
      headers.put("accept-encoding", "gzip, deflate, br");
      headers.put("x-tenant", "acme");
      // Two hops, joined with "," as Envoy joins repeated headers.
      headers.put("x-forwarded-for", "203.0.113." + (i % 250 + 1) + ",10.0.0.7");
      headers.put("x-forwarded-proto", "https");
      headers.put("x-request-id", String.format(Locale.ROOT, "5b1c2f0e-8d7a-4c3b-9e1f-%012x", 0x5eedL * (i + 1)));
      headers.put("x-b3-traceid", String.format(Locale.ROOT, "%016x", 0x1234_5678_9abcL * (i + 1)));
      headers.put("x-envoy-expected-rq-timeout-ms", "15000");
      if (post) {
        headers.put("content-type", "application/json");
        headers.put("content-length", Integer.toString(120 + i));
      }
      AttributeContext.HttpRequest http = AttributeContext.HttpRequest.newBuilder()
          .setId(Long.toUnsignedString(0x9e37_79b9_7f4a_7c15L * (i + 1)))
          .setMethod(method)
          .setPath(path)
          .setHost(host)
          .setScheme("http")
          .setProtocol("HTTP/1.1")
          .putAllHeaders(headers)
          .build();
      AttributeContext attributes = AttributeContext.newBuilder()
          .setSource(peer("10.0.0.7", 40_000 + i, FRONTEND))
          .setDestination(peer("10.0.1.5", 8080, "spiffe://cluster.local/ns/shop/sa/orders"))
          .putContextExtensions("namespace", NAMESPACE)
          .putContextExtensions("labels", "app=orders")
          .setRequest(AttributeContext.Request.newBuilder()
              .setTime(Timestamp.newBuilder().setSeconds(1_790_000_000L + i))
              .setHttp(http))
          .build();
      requests.add(CheckRequest.newBuilder().setAttributes(attributes).build());
    }
    return requests;
  }

  private static AttributeContext.Peer peer(String ip, int port, String principal) {
    return AttributeContext.Peer.newBuilder()
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)))
        .setPrincipal(principal)
        .build();
  }
}

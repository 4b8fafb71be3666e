package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.MeshConfig;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real {@link AuthzService.CustomProviders}: one {@link ProviderClient} per provider
 * configuration (gRPC channel or HTTP client), created on first use and cached, and a
 * {@link CustomCall} per request.
 *
 * <h2>Threads</h2>
 * {@link dev.meshguard.policy.CustomDecider} is synchronous, so the provider call blocks the
 * thread deciding the request for up to the provider's timeout. That thread is one of grpc-java's
 * application executor threads (the {@code GrpcServer} leaves {@code executor(...)} unset, so
 * calls run on grpc's shared cached pool, not on a Netty event loop) and the event loops keep
 * serving other connections meanwhile. Each blocked call holds one pool thread: a slow provider
 * under load grows the pool, which its timeout bounds.
 *
 * <h2>Configuration changes</h2>
 * Clients are keyed by the whole {@link dev.meshguard.policy.ExtensionProvider} record, so an
 * edited provider gets a new client. When a request brings a mesh config not seen before,
 * clients of providers it no longer has are closed. Accepted race: a request still deciding with
 * the previous mesh config may find its client closed; it then gets the provider's failure mode,
 * exactly as if the provider were unreachable.
 */
final class CustomProviderClients implements AuthzService.CustomProviders, AutoCloseable {

  private final ConcurrentHashMap<dev.meshguard.policy.ExtensionProvider, ProviderClient> clients =
      new ConcurrentHashMap<>();
  private final CustomProviderMetrics metrics;
  private final Clock clock;
  private final Map<String, ClientTls> tls;
  private volatile MeshConfig lastMesh;
  private volatile boolean closed;

  CustomProviderClients(MeterRegistry registry, Clock clock) {
    this(registry, clock, Map.of());
  }

  /** @param tls TLS material by provider name ({@code authz.custom_provider_tls}); others are plaintext */
  CustomProviderClients(MeterRegistry registry, Clock clock, Map<String, ClientTls> tls) {
    this.metrics = new CustomProviderMetrics(registry);
    this.clock = clock;
    this.tls = Map.copyOf(tls);
  }

  /**
   * Reads the TLS files of every {@code authz.custom_provider_tls} entry with {@code crypto}.
   *
   * @throws ConfigException naming the setting or file that does not load
   */
  static Map<String, ClientTls> loadTls(Map<String, ProviderTls> configured, Crypto crypto) throws ConfigException {
    Map<String, ClientTls> loaded = new HashMap<>();
    for (Map.Entry<String, ProviderTls> e : configured.entrySet()) {
      ProviderTls t = e.getValue();
      loaded.put(e.getKey(), ClientTls.load(crypto, "authz.custom_provider_tls." + e.getKey(), t.caCertificates(),
          t.clientCertificate(), t.privateKey()));
    }
    return loaded;
  }

  @Override
  public CustomDecider forRequest(CheckRequest request, MeshConfig mesh) {
    if (mesh != lastMesh) {
      prune(mesh);
    }
    return new CustomCall(request, mesh, this);
  }

  /** The client for {@code provider}, created on first use. */
  ProviderClient client(dev.meshguard.policy.ExtensionProvider provider) {
    ProviderClient client = clients.computeIfAbsent(provider, this::open);
    if (closed) {
      // Closed while we looked: do not leak a client created after close().
      clients.remove(provider, client);
      client.close();
    }
    return client;
  }

  private ProviderClient open(dev.meshguard.policy.ExtensionProvider p) {
    ClientTls providerTls = tls.get(p.name());
    try {
      return p.grpc() ? new GrpcCustomProvider(p, providerTls) : new HttpCustomProvider(p, providerTls);
    } catch (ConfigException e) {
      // The files loaded at start; only building the context from them failed. The caller turns
      // this into an error verdict, so the provider's failure mode answers.
      throw new IllegalStateException("cannot build the TLS context for provider " + p.name() + ": "
          + e.getMessage(), e);
    }
  }

  CustomProviderMetrics metrics() {
    return metrics;
  }

  Clock clock() {
    return clock;
  }

  private synchronized void prune(MeshConfig mesh) {
    if (mesh == lastMesh) {
      return;
    }
    lastMesh = mesh;
    Set<dev.meshguard.policy.ExtensionProvider> current = new HashSet<>(mesh.extensionProviders().values());
    for (Map.Entry<dev.meshguard.policy.ExtensionProvider, ProviderClient> e : clients.entrySet()) {
      if (!current.contains(e.getKey()) && clients.remove(e.getKey(), e.getValue())) {
        e.getValue().close();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (ProviderClient client : clients.values()) {
      client.close();
    }
    clients.clear();
  }
}

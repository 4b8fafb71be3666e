package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.ClientTls;
import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.MeshConfig;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 *
 * <h2>TLS material that changes</h2>
 * The server's reload poll calls {@link #reloadTls()}, which asks each provider's
 * {@link ClientTls} to {@link ClientTls#checkForChanges() check its files} (core's reloading
 * material, the same that serves the decision port's own TLS: content digests, a bad or
 * half-written file refused while the last good material stays, logged and counted, and tried
 * again when the content changes). When a provider's material changed, its clients are
 * <b>rebuilt</b>: a new gRPC channel (or HTTP client) with a new TLS context takes over at once,
 * and the old one is shut down gracefully one poll later, so calls already on it finish. Why not
 * only let new connections of the existing channel take the new material (its key and trust
 * managers follow the files anyway): a gRPC channel keeps one HTTP/2 connection for as long as
 * the provider keeps it open, days if nothing breaks it, so the provider would go on seeing the
 * old client certificate, and a CA removed from the bundle would go on being trusted, until
 * something breaks the connection; and a context's session cache lets a new connection resume a
 * session made with the old certificate. A rotation costs one handshake per provider.
 *
 * <p>Accepted race: a request that took a client just before it was replaced may start its call
 * after the old client was shut down (only if it waited a whole poll interval in between); it
 * then gets the provider's failure mode, as for a provider that is unreachable.
 */
final class CustomProviderClients implements AuthzService.CustomProviders, AutoCloseable {

  private static final System.Logger LOG = System.getLogger(CustomProviderClients.class.getName());

  private final ConcurrentHashMap<dev.meshguard.policy.ExtensionProvider, ProviderClient> clients =
      new ConcurrentHashMap<>();
  private final CustomProviderMetrics metrics;
  private final Clock clock;
  private final Map<String, ClientTls> tls;
  // Replaced clients wait one poll before they are shut down: written by reloadTls only (synchronized).
  private List<ProviderClient> retired = new ArrayList<>();
  private volatile MeshConfig lastMesh;
  private volatile boolean closed;

  CustomProviderClients(MeterRegistry registry, Clock clock) {
    this(registry, clock, Map.of());
  }

  /** @param tls TLS material by provider name ({@code authz.custom_provider_tls}); others are plaintext */
  CustomProviderClients(MeterRegistry registry, Clock clock, Map<String, ClientTls> tls) {
    this.metrics = new CustomProviderMetrics(registry);
    this.clock = clock;
    this.tls = Collections.unmodifiableMap(new TreeMap<>(tls));
    this.tls.forEach(metrics::tlsReloads);
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
      loaded.put(e.getKey(), ClientTls.load(crypto, setting(e.getKey()), t.caCertificates(),
          t.clientCertificate(), t.privateKey()).expecting(t.serverName(), t.expectedSpiffeId()));
    }
    return loaded;
  }

  private static String setting(String provider) {
    return "authz.custom_provider_tls." + provider;
  }

  /**
   * Checks every provider's TLS files and rebuilds the clients of those whose material changed
   * (see the class comment); shuts down the clients replaced by the previous call. Run by the
   * server's reload poll, never on the request path; never throws for a file problem.
   *
   * @return the providers whose clients were rebuilt
   */
  synchronized List<String> reloadTls() {
    List<ProviderClient> waiting = retired;
    retired = new ArrayList<>();
    waiting.forEach(ProviderClient::close);
    List<String> renewed = new ArrayList<>();
    for (Map.Entry<String, ClientTls> e : tls.entrySet()) {
      if (!e.getValue().checkForChanges()) {
        continue;
      }
      renewed.add(e.getKey());
      int rebuilt = 0;
      for (dev.meshguard.policy.ExtensionProvider p : List.copyOf(clients.keySet())) {
        if (!p.name().equals(e.getKey())) {
          continue;
        }
        ProviderClient old = clients.get(p);
        ProviderClient fresh;
        try {
          fresh = open(p);
        } catch (IllegalStateException ex) {
          // The old client's context follows the new files too; it stays until one can be built.
          LOG.log(Level.WARNING, "custom provider {0}: {1}", p.name(), ex.getMessage());
          continue;
        }
        if (old != null && clients.replace(p, old, fresh)) {
          retired.add(old);
          rebuilt++;
        } else {
          fresh.close(); // pruned or replaced meanwhile
        }
      }
      LOG.log(Level.INFO, "custom provider {0}: TLS material generation {1} in use, {2} client(s) rebuilt",
          e.getKey(), e.getValue().generation(), rebuilt);
    }
    return renewed;
  }

  /**
   * One line per provider whose TLS files now hold content that was refused (the last good
   * material still serves), naming the setting, the file and the problem; empty when all loaded.
   */
  List<String> tlsProblems() {
    List<String> problems = new ArrayList<>();
    tls.forEach((name, t) -> {
      String problem = t.reloadProblem();
      if (problem != null) {
        problems.add(setting(name) + " not reloaded, generation " + t.generation() + " keeps serving: " + problem);
      }
    });
    return problems;
  }

  /** The TLS of provider {@code name}, or null when it is called in plaintext. */
  ClientTls tls(String name) {
    return tls.get(name);
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
      // The files loaded (at start or on a reload); only building the context from them failed. The caller turns
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
    synchronized (this) {
      retired.forEach(ProviderClient::close);
      retired.clear();
    }
  }
}

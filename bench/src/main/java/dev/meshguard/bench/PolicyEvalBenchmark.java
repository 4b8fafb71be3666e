package dev.meshguard.bench;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.grpcrbac.StubServerCall;
import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.RbacEmitter;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.xds.GrpcRbac;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * One authorization decision, by meshguard's compiled evaluator ({@link PolicyEngine#evaluate}) and
 * by grpc-java's Envoy RBAC engine on the config {@link RbacEmitter} writes for the same policies
 * (its baseline), for {@link #policies} policies laid out per {@link PolicyMix.Layout}. Each call
 * decides the next of 512 prepared requests ({@link PolicyMix}), so branch predictors and caches
 * see a mix, not one request. Building the policies, compiling and emitting happen in the trial
 * set-up, outside the measurement; meshguard's per-workload program is built there too (it is
 * cached per workload in production).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class PolicyEvalBenchmark {
  static final int REQUESTS = 512;
  static final long SEED = 20_261_128L;

  /** Common parameters of both engines' states (JMH wants {@code @State} where {@code @Param} is). */
  @State(Scope.Benchmark)
  public abstract static class Base {
    @Param({"10", "100", "1000", "10000"})
    public int policies;

    @Param({"in_scope", "spread"})
    public String layout;

    int next;

    PolicyMix.Layout layout() {
      return layout.equals(PolicyMix.Layout.IN_SCOPE.key) ? PolicyMix.Layout.IN_SCOPE : PolicyMix.Layout.SPREAD;
    }

    PolicySet policySet() {
      return PolicyMix.policies(policies, layout(), SEED);
    }

    List<PolicyMix.Request> requests() {
      return PolicyMix.requests(REQUESTS, policies, layout(), SEED);
    }

    final int nextIndex() {
      int i = next;
      next = (i + 1) & (REQUESTS - 1);
      return i;
    }
  }

  /** meshguard: the compiled engine and the requests as RequestAttributes. */
  @State(Scope.Benchmark)
  public static class Meshguard extends Base {
    PolicyEngine engine;
    RequestAttributes[] attributes;

    @Setup(Level.Trial)
    public void compile() throws ConfigException {
      engine = PolicyEngine.compile(policySet(), MeshConfig.DEFAULT);
      attributes = requests().stream().map(PolicyMix::attributes).toArray(RequestAttributes[]::new);
      engine.forWorkload(PolicyMix.WORKLOAD);
    }
  }

  /** grpc-java: one engine per emitted filter and the requests as server calls with metadata. */
  @State(Scope.Benchmark)
  public static class Grpc extends Base {
    GrpcRbac engine;
    Metadata[] headers;
    ServerCall<?, ?>[] calls;

    @Setup(Level.Trial)
    public void emit() {
      engine = GrpcRbac.of(PolicyMix.forGrpc(RbacEmitter.http(policySet(), MeshConfig.DEFAULT, PolicyMix.WORKLOAD)));
      List<PolicyMix.Request> requests = requests();
      headers = new Metadata[requests.size()];
      calls = new ServerCall<?, ?>[requests.size()];
      Map<String, X509Certificate> certs = Certs.get();
      for (int i = 0; i < requests.size(); i++) {
        PolicyMix.Request r = requests.get(i);
        headers[i] = StubServerCall.metadata(r.headers());
        // The engine's "full method name" is the path without its leading slash.
        calls[i] = new StubServerCall(r.path().substring(1), PolicyMix.AUTHORITY,
            r.peer() == null ? null : certs.get(r.peer()),
            new InetSocketAddress(r.sourceIp(), 40000), new InetSocketAddress("10.0.0.1", r.destinationPort()));
      }
    }
  }

  /** One X.509 SVID per peer identity, issued once per JVM by a test CA. */
  static final class Certs {
    private static Map<String, X509Certificate> certs;

    private Certs() {}

    /**
     * The certificates as the JDK's own X.509 parser (provider SUN) reads them, which is what a
     * grpc-java server on the JDK's TLS hands its RBAC engine: the engine reads the SANs on every
     * principal match, and a FIPS provider's certificate objects would make that slower than it is.
     */
    static synchronized Map<String, X509Certificate> get() {
      if (certs == null) {
        TestCa ca = TestCa.create("cluster.local");
        Map<String, X509Certificate> issued = new HashMap<>();
        try {
          CertificateFactory jdk = CertificateFactory.getInstance("X.509", "SUN");
          for (String peer : PolicyMix.peers()) {
            TestCert cert = ca.leaf(peer).issue();
            issued.put(peer, (X509Certificate) jdk.generateCertificate(
                new ByteArrayInputStream(cert.certificate().getEncoded())));
          }
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("the JDK's X.509 parser refused a test certificate", e);
        }
        certs = Map.copyOf(issued);
      }
      return certs;
    }
  }

  @Benchmark
  public Decision meshguard(Meshguard state) {
    return state.engine.evaluate(state.attributes[state.nextIndex()], CustomDecider.ALLOW_ALL);
  }

  @Benchmark
  public boolean grpc(Grpc state) {
    int i = state.nextIndex();
    return state.engine.allows(state.headers[i], state.calls[i]);
  }
}

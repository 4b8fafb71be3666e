package io.grpc.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.xds.internal.rbac.engine.GrpcAuthorizationEngine;
import io.grpc.xds.internal.rbac.engine.GrpcAuthorizationEngine.AuthConfig;
import io.grpc.xds.internal.rbac.engine.GrpcAuthorizationEngine.AuthDecision;
import java.util.ArrayList;
import java.util.List;

/**
 * grpc-java's Envoy RBAC engine (grpc-xds) over HTTP RBAC filter configs: the second opinion
 * policy-compiler's tests hold against the configs {@code RbacEmitter} writes, and the baseline of
 * bench's policy-eval suite. It sits in package {@code io.grpc.xds} because the config parser,
 * {@code RbacFilter.Provider.parseRbacConfig}, and {@code RbacConfig.authConfig()} are
 * package-private; the parser takes grpc-xds's relocated copy of the Envoy protos
 * ({@code io.grpc.xds.shaded.io.envoyproxy...}), so each message crosses over as bytes.
 *
 * <p>One engine per HTTP RBAC filter, run in filter order like grpc-java's server interceptors: a
 * filter that denies ends the call. Filters without enforced rules (AUDIT's LOG action, CUSTOM's
 * shadow-only marking, dry-run-only) parse to no engine, as in grpc-java. Immutable and
 * thread-safe once built (the engines only read).
 */
public final class GrpcRbac {
  // An array, not a List: the bench measures allows() and the baseline should carry no iterator.
  private final GrpcAuthorizationEngine[] engines;

  private GrpcRbac(List<GrpcAuthorizationEngine> engines) {
    this.engines = engines.toArray(new GrpcAuthorizationEngine[0]);
  }

  /**
   * Parses HTTP RBAC filter configs with grpc-java's own parser.
   *
   * @throws IllegalArgumentException when grpc-java rejects a config (e.g. a {@code uri_template}
   *     permission, which it does not support), with its reason
   */
  public static GrpcRbac of(List<RBAC> filters) {
    List<GrpcAuthorizationEngine> engines = new ArrayList<>();
    for (RBAC filter : filters) {
      io.grpc.xds.shaded.io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC relocated;
      try {
        relocated = io.grpc.xds.shaded.io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC
            .parseFrom(filter.toByteString());
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("grpc-xds cannot read the emitted RBAC message", e);
      }
      ConfigOrError<RbacConfig> parsed = RbacFilter.Provider.parseRbacConfig(relocated);
      if (parsed.errorDetail != null) {
        throw new IllegalArgumentException("grpc-java rejects the RBAC config: " + parsed.errorDetail);
      }
      AuthConfig config = parsed.config.authConfig();
      if (config != null) {
        engines.add(new GrpcAuthorizationEngine(config));
      }
    }
    return new GrpcRbac(engines);
  }

  /** How many filters enforce something (ALLOW or DENY rules). */
  public int engines() {
    return engines.length;
  }

  /** True when every filter lets the call through. */
  public boolean allows(Metadata headers, ServerCall<?, ?> call) {
    for (GrpcAuthorizationEngine engine : engines) {
      if (engine.evaluate(headers, call).decision() == GrpcAuthorizationEngine.Action.DENY) {
        return false;
      }
    }
    return true;
  }

  /**
   * The verdict of the first filter that denies: the matching policy's name for a DENY filter,
   * {@code "(no ALLOW policy matched)"} for an ALLOW filter; null when every filter allows.
   */
  public String denyingPolicy(Metadata headers, ServerCall<?, ?> call) {
    for (GrpcAuthorizationEngine engine : engines) {
      AuthDecision decision = engine.evaluate(headers, call);
      if (decision.decision() == GrpcAuthorizationEngine.Action.DENY) {
        return decision.matchingPolicyName() != null ? decision.matchingPolicyName() : "(no ALLOW policy matched)";
      }
    }
    return null;
  }
}

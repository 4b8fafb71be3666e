package io.grpc.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.xds.internal.rbac.engine.GrpcAuthorizationEngine;
import io.grpc.xds.internal.rbac.engine.GrpcAuthorizationEngine.AuthConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy-eval suite's baseline: grpc-java's Envoy RBAC engine (grpc-xds) over the HTTP RBAC
 * filters meshguard emits, one engine per filter in filter order, as grpc-java's server
 * interceptors run them. In package {@code io.grpc.xds} because grpc-java's config parser
 * ({@code RbacFilter.Provider.parseRbacConfig}) is package-private and takes its relocated copy
 * of the Envoy protos, reached by a bytes round-trip. (policy-compiler's tests hold the same bridge
 * as {@code io.grpc.xds.GrpcRbac}; nothing may depend on bench, and bench may not on test code.)
 */
public final class GrpcRbacBaseline {
  private final GrpcAuthorizationEngine[] engines;

  private GrpcRbacBaseline(List<GrpcAuthorizationEngine> engines) {
    this.engines = engines.toArray(new GrpcAuthorizationEngine[0]);
  }

  /** Parses the filters with grpc-java's parser; throws IllegalArgumentException with its reason if it refuses one. */
  public static GrpcRbacBaseline of(List<RBAC> filters) {
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
    return new GrpcRbacBaseline(engines);
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
}

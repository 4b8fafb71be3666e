package dev.meshguard.authz;

import dev.meshguard.policy.ExtensionProvider;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * An {@code envoyExtAuthzGrpc} provider: {@code envoy.service.auth.v3.Authorization/Check} over
 * one cached grpc-java channel, sent the very CheckRequest Envoy sent us, with the provider's
 * timeout as the call deadline.
 *
 * <p>As Envoy reads a CheckResponse (extauthz.md §1.2): a completed RPC with {@code status.code}
 * 0 allows, any other code denies; an RPC error is an error and {@code DEADLINE_EXCEEDED} a
 * timeout, both left to the provider's failure mode.
 *
 * <p>The channel is plaintext: in a mesh the provider is reached through the sidecar, which
 * adds mTLS. A channel connects lazily and reconnects with grpc-java's backoff, so a provider
 * that is down costs a fast {@code UNAVAILABLE}, not the whole timeout, once the channel knows.
 */
final class GrpcCustomProvider implements ProviderClient {

  private final ExtensionProvider provider;
  private final ManagedChannel channel;
  private final AuthorizationGrpc.AuthorizationBlockingStub stub;

  GrpcCustomProvider(ExtensionProvider provider) {
    this.provider = provider;
    this.channel = NettyChannelBuilder.forAddress(ProviderClient.host(provider.service()), provider.port())
        .usePlaintext()
        .build();
    this.stub = AuthorizationGrpc.newBlockingStub(channel);
  }

  @Override
  public ProviderVerdict check(CheckRequest request) {
    try {
      CheckResponse response = stub.withDeadlineAfter(provider.timeout().toNanos(), TimeUnit.NANOSECONDS)
          .check(request);
      boolean ok = response.getStatus().getCode() == Status.Code.OK.value();
      return new ProviderVerdict(ok ? ProviderVerdict.Kind.ALLOW : ProviderVerdict.Kind.DENY, response, null);
    } catch (StatusRuntimeException e) {
      String detail = e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
          : ": " + e.getStatus().getDescription());
      return e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED
          ? ProviderVerdict.timeout(detail) : ProviderVerdict.error(detail);
    } catch (RuntimeException e) {
      return ProviderVerdict.error(e.toString());
    }
  }

  @Override
  public void close() {
    // In-flight calls finish (or meet their deadline); new ones fail with UNAVAILABLE.
    channel.shutdown();
  }
}

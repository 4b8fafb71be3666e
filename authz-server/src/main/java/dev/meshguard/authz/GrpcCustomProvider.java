package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.tls.ClientTls;
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
 * <p>The request body is what the provider's {@code includeRequestBodyInCheck} allows
 * ({@link ProviderBody}): none without it, as Envoy sends none without {@code with_request_body}.
 *
 * <p>The channel is plaintext unless {@link ProviderTls} is configured for the provider (in a mesh
 * the sidecar may add mTLS instead); with it, TLS runs on the server's {@code Crypto}
 * ({@link ClientTls#grpcContext()}: BCJSSE in FIPS mode), the provider's certificate must chain to
 * the configured CAs and name the {@code service} host (or {@code server_name}, which is then also
 * the SNI and the {@code :authority}; or carry {@code spiffe_id}), and the client certificate is presented
 * when configured. A channel connects lazily and reconnects with grpc-java's backoff, so a provider
 * that is down costs a fast {@code UNAVAILABLE}, not the whole timeout, once the channel knows.
 */
final class GrpcCustomProvider implements ProviderClient {

  private final ExtensionProvider provider;
  private final ManagedChannel channel;
  private final AuthorizationGrpc.AuthorizationBlockingStub stub;

  /** @param tls TLS to the provider, or null for plaintext */
  GrpcCustomProvider(ExtensionProvider provider, ClientTls tls) throws ConfigException {
    this.provider = provider;
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(ProviderClient.host(provider.service()), provider.port());
    if (tls == null) {
      b.usePlaintext();
    } else {
      b.sslContext(tls.grpcContext());
      if (tls.serverName() != null) {
        // grpc-java takes the TLS peer host (SNI, and the name the certificate must carry) from
        // the authority; there is no separate setting.
        b.overrideAuthority(tls.serverName());
      }
    }
    this.channel = b.build();
    this.stub = AuthorizationGrpc.newBlockingStub(channel);
  }

  @Override
  public ProviderVerdict check(CheckRequest request) {
    ExtensionProvider.RequestBody bodyConfig = provider.includeRequestBodyInCheck();
    ProviderBody.Shaped body = ProviderBody.shape(request.getAttributes().getRequest().getHttp(), bodyConfig);
    if (body instanceof ProviderBody.TooLarge tooLarge) {
      return tooLarge.verdict();
    }
    try {
      CheckRequest sent = ProviderBody.forGrpc(request, body, bodyConfig != null && bodyConfig.packAsBytes());
      CheckResponse response = stub.withDeadlineAfter(provider.timeout().toNanos(), TimeUnit.NANOSECONDS)
          .check(sent);
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

package dev.meshguard.ca.workload;

import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.util.AsciiString;
import java.io.IOException;

/**
 * The plaintext server negotiation of grpc-netty plus one step: before the transport becomes
 * ready, read the peer's credentials from the kernel (SO_PEERCRED, through
 * {@link EpollDomainSocketChannel#peerCredentials()}) and add them to the transport attributes,
 * which grpc copies into every call's {@link io.grpc.ServerCall#getAttributes()}.
 *
 * <p>Written by hand because grpc-java has no API for peer credentials (grpc/grpc-java#2646).
 * It uses grpc-netty's {@code Internal*} negotiation hooks, the same ones grpc's own xDS module
 * builds its TLS negotiation on; the TLS negotiator adds the SSL session to the same attributes.
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

  /** The caller's credentials; absent when the channel is not an epoll Unix socket or the read failed. */
  static final Attributes.Key<CallerCredentials> CALLER = Attributes.Key.create("meshguard.workload.caller-credentials");

  private final InternalProtocolNegotiator.ProtocolNegotiator plaintext = InternalProtocolNegotiators.serverPlaintext();

  @Override
  public AsciiString scheme() {
    return plaintext.scheme();
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    return new Handler(plaintext.newHandler(grpcHandler), grpcHandler.getNegotiationLogger());
  }

  @Override
  public void close() {
    plaintext.close();
  }

  /** Replaces itself with the plaintext handler once it has added the credentials to the event. */
  private static final class Handler extends InternalProtocolNegotiators.ProtocolNegotiationHandler {
    Handler(ChannelHandler next, ChannelLogger logger) {
      super(next, logger);
    }

    @Override
    protected void protocolNegotiationEventTriggered(ChannelHandlerContext ctx) {
      CallerCredentials caller = credentialsOf(ctx.channel());
      if (caller != null) {
        Attributes attributes = InternalProtocolNegotiationEvent.getAttributes(getProtocolNegotiationEvent());
        replaceProtocolNegotiationEvent(InternalProtocolNegotiationEvent.withAttributes(getProtocolNegotiationEvent(),
            attributes.toBuilder().set(CALLER, caller).build()));
      }
      fireProtocolNegotiationEvent(ctx);
    }
  }

  private static CallerCredentials credentialsOf(Channel channel) {
    if (!(channel instanceof EpollDomainSocketChannel socket)) {
      return null;
    }
    try {
      PeerCredentials credentials = socket.peerCredentials();
      int[] gids = credentials.gids();
      // A missing credential denies: no selector can match it. Linux always reports one gid.
      if (gids.length == 0) {
        return null;
      }
      return CallerCredentials.of(credentials.uid(), gids[0], credentials.pid());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}

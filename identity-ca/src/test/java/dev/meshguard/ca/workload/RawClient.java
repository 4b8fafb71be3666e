package dev.meshguard.ca.workload;

import dev.meshguard.ca.workload.proto.SpiffeWorkloadAPIGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A plain grpc-java client of the Workload API socket, for what the java-spiffe client will not
 * do: calls without the security header, and exact status codes.
 */
final class RawClient implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final ManagedChannel channel;

  RawClient(Path socket) {
    channel = NettyChannelBuilder.forAddress(new io.netty.channel.unix.DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        // Unix sockets have no keepalive option; without this netty warns on every connection.
        .withOption(io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
        .usePlaintext()
        .build();
  }

  /** A blocking stub that sends {@code workload.spiffe.io: true}. */
  SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub() {
    Metadata headers = new Metadata();
    headers.put(CallerInterceptor.SECURITY_HEADER, "true");
    return bare().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** A blocking stub that sends no security header. */
  SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub bare() {
    return SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}

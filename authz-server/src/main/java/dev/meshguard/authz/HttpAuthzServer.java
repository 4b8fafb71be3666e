package dev.meshguard.authz;

import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The HTTP service mode's listener: HTTP/1.1 with keep-alive on Netty (the transport grpc-java
 * already brings), one {@link AuthzService#decide} per request through {@link HttpCheckRequests}.
 *
 * <h2>Answers</h2>
 * Only 200 (allow), 401 (the decision's {@code denied_response} said 401) and 403 (every other
 * deny) ever leave this port: nginx's {@code auth_request} turns anything else into a 500 and
 * Envoy's {@code http_service} a 5xx into an error, which {@code failure_mode_allow} would let
 * through. That includes what is not a decision: a malformed request line or headers, a request
 * line or header block over {@link AuthzOptions.InputLimits} (answered 403 naming the limit, not
 * 414/431), a body over {@code max_request_bytes}, a client not on the mTLS allow-list. Those are
 * answered and the connection closed. Every answer carries {@code x-meshguard-decision-id}.
 *
 * <h2>Threads</h2>
 * Requests are decided on a pool of decision threads ({@link #DECIDERS}), not on the event loops:
 * a decision may block on I/O with a timeout (a CUSTOM provider's call, a JWKS fetch), and a
 * blocked event loop would stall every connection it serves. Netty runs a connection's handler on
 * one thread of the pool at a time, so pipelined requests are still answered in order.
 * The body, which no decision reads, is discarded as it streams in.
 *
 * <h2>mTLS</h2>
 * With {@link AuthzOptions#tls()} the port speaks TLS with the decision port's context (client
 * certificate required) and the same SPIFFE ID allow-list, checked once per connection after the
 * handshake.
 */
final class HttpAuthzServer implements AutoCloseable {

  /** A connection silent this long is closed (it holds a slot, and keep-alive pools reconnect). */
  static final Duration READ_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(5);

  /**
   * Decision threads: as many requests as this can wait on slow CUSTOM providers at once before
   * the rest queue (the gRPC port's pool grows without bound instead).
   */
  static final int DECIDERS = Math.max(16, 4 * Runtime.getRuntime().availableProcessors());

  private final Channel channel;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final EventExecutorGroup deciders;

  private HttpAuthzServer(Channel channel, EventLoopGroup boss, EventLoopGroup workers,
      EventExecutorGroup deciders) {
    this.channel = channel;
    this.boss = boss;
    this.workers = workers;
    this.deciders = deciders;
  }

  /**
   * Binds {@code options.host():options.httpPort()} (0: a free port).
   *
   * @param tls the decision port's TLS context, or null for plaintext
   * @param allowedPeers the SPIFFE IDs allowed when {@code tls} is set
   * @throws IOException when the port cannot be bound
   */
  // Netty 4.2 deprecates binding a handler to an EventExecutorGroup, but it is still the one way
  // to run a connection's handler off its event loop with its requests kept in order.
  @SuppressWarnings("deprecation")
  static HttpAuthzServer start(AuthzOptions options, AuthzService service, Clock clock, TlsContext tls,
      SpiffeIdAllowList allowedPeers) throws IOException {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    EventLoopGroup boss =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("meshguard-authz-http-boss", true), io);
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0,
        new DefaultThreadFactory("meshguard-authz-http-worker", true), io);
    EventExecutorGroup deciders = new DefaultEventExecutorGroup(DECIDERS,
        new DefaultThreadFactory("meshguard-authz-http-decider", true));
    AuthzOptions.InputLimits limits = options.limits();
    // The request line holds the prefix, the original path and the method: give it room for both.
    int maxLine = limits.maxPathBytes() + options.httpPathPrefix().length() + 64;
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(boss, workers)
        .channel(type)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        // A client that half-closes after its request (printf | nc, some health checkers) still
        // gets its answer: the decision runs on another thread, so EOF must not close the channel
        // before the answer is written. The handler closes it once the last answer is out.
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ChannelPipeline p = ch.pipeline();
            p.addLast(new ReadTimeoutHandler(READ_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
            if (tls != null) {
              p.addLast(tls.sslContext().newHandler(ch.alloc()));
            }
            p.addLast(new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(maxLine)
                .setMaxHeaderSize(limits.maxHeaderBytes())));
            p.addLast(deciders, new Handler(options, service, clock, tls != null, allowedPeers));
          }
        });
    try {
      Channel channel = bootstrap.bind(new InetSocketAddress(options.host(), options.httpPort())).sync().channel();
      return new HttpAuthzServer(channel, boss, workers, deciders);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      shutdown(boss, workers, deciders);
      throw new IOException("interrupted while binding the HTTP authz port", e);
    } catch (RuntimeException e) {
      shutdown(boss, workers, deciders);
      throw new IOException("cannot bind the HTTP authz port " + options.host() + ":" + options.httpPort() + ": "
          + e.getMessage(), e);
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** Stops accepting, then closes the event loops (in-flight answers are written first: they are synchronous). */
  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    shutdown(boss, workers, deciders);
  }

  private static void shutdown(EventLoopGroup boss, EventLoopGroup workers, EventExecutorGroup deciders) {
    deciders.shutdownGracefully(0, SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS).syncUninterruptibly();
    boss.shutdownGracefully(0, SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS).syncUninterruptibly();
  }

  /** One connection's requests, in order. Not shared: Netty calls it from one decision thread at a time. */
  static final class Handler extends SimpleChannelInboundHandler<HttpObject> {
    private final AuthzOptions options;
    private final AuthzService service;
    private final Clock clock;
    private final boolean tls;
    private final SpiffeIdAllowList allowedPeers;
    /** Why this connection may not ask (mTLS peer not allowed), or null. */
    private String peerRefusal;
    /** Body bytes of the current request so far; -1 once the request has been answered with a close. */
    private long bodyBytes;
    private boolean closing;
    /** The last answer written, or null: the connection closes after it when the client half-closes. */
    private ChannelFuture lastWrite;

    Handler(AuthzOptions options, AuthzService service, Clock clock, boolean tls, SpiffeIdAllowList allowedPeers) {
      this.options = options;
      this.service = service;
      this.clock = clock;
      this.tls = tls;
      this.allowedPeers = allowedPeers;
      this.peerRefusal = tls ? "the TLS handshake has not completed" : null;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent done) {
        peerRefusal = done.isSuccess() ? checkPeer(ctx.pipeline().get(SslHandler.class)) : "TLS handshake failed";
      }
      if (evt instanceof ChannelInputShutdownEvent) {
        // Every request read before the EOF has been answered (this runs after them, in order).
        closing = true;
        if (lastWrite == null) {
          ctx.close();
        } else {
          lastWrite.addListener(ChannelFutureListener.CLOSE);
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    private String checkPeer(SslHandler ssl) {
      Certificate[] chain;
      try {
        chain = ssl.engine().getSession().getPeerCertificates();
      } catch (SSLPeerUnverifiedException e) {
        return "no client certificate";
      }
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return "no client certificate";
      }
      String uri = firstUriSan(leaf);
      if (uri == null) {
        return "the client certificate has no URI SAN";
      }
      try {
        SpiffeId id = SpiffeId.parse(uri);
        return allowedPeers.allows(id) ? null : "peer " + id + " is not allowed";
      } catch (InvalidSpiffeIdException e) {
        return "the client certificate's URI SAN is not a SPIFFE ID";
      }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (closing) {
        return; // answered with a close; whatever follows is dropped
      }
      if (msg.decoderResult().isFailure()) {
        malformed(ctx, msg.decoderResult().cause());
        return;
      }
      if (msg instanceof HttpRequest request) {
        bodyBytes = 0;
        onRequest(ctx, request);
      }
      if (msg instanceof HttpContent content) {
        bodyBytes += content.content().readableBytes();
        if (bodyBytes > options.limits().maxRequestBytes()) {
          // The answer is already out; a body this large is not read to its end.
          closing = true;
          ctx.close();
        }
        if (msg instanceof LastHttpContent) {
          bodyBytes = 0;
        }
      }
    }

    private void onRequest(ChannelHandlerContext ctx, HttpRequest request) {
      List<Map.Entry<String, String>> headers = new ArrayList<>(request.headers().size());
      request.headers().iteratorAsString().forEachRemaining(headers::add);
      HttpCheckRequests.Incoming in = new HttpCheckRequests.Incoming(request.method().name(), request.uri(),
          request.protocolVersion().text(), headers, (InetSocketAddress) ctx.channel().remoteAddress(), tls);
      CheckResponse response;
      boolean close = false;
      if (peerRefusal != null) {
        response = service.refuse(minimal(in), "mTLS: " + peerRefusal, null);
        close = true;
      } else {
        HttpCheckRequests.Translation t;
        try {
          t = HttpCheckRequests.translate(in, options, clock.now());
        } catch (RuntimeException e) {
          // A translation bug must still answer with a deny, not drop the connection.
          t = new HttpCheckRequests.Translation(minimal(in), "invalid request: " + e.getClass().getSimpleName());
        }
        response = t.refusal() != null ? service.refuse(t.request(), t.refusal(), null) : service.decide(t.request());
      }
      // A client waiting for 100-continue may or may not send its body after a final answer:
      // the connection cannot be reused safely (RFC 9110 §10.1.1).
      close |= HttpUtil.is100ContinueExpected(request);
      // HTTP/1.0 is answered as such (nginx's auth_request subrequests speak it by default); any
      // other version as HTTP/1.1.
      HttpVersion version = request.protocolVersion().equals(HttpVersion.HTTP_1_0) ? HttpVersion.HTTP_1_0
          : HttpVersion.HTTP_1_1;
      lastWrite = write(ctx, HttpCheckRequests.answer(response), version, HttpUtil.isKeepAlive(request) && !close);
      if (close) {
        closing = true;
      }
    }

    private void malformed(ChannelHandlerContext ctx, Throwable cause) {
      String limit = null;
      String reason;
      if (cause instanceof TooLongHttpLineException) {
        limit = "path_bytes";
        reason = "input limit exceeded: the request line is over max_path_bytes " + options.limits().maxPathBytes();
      } else if (cause instanceof TooLongHttpHeaderException) {
        limit = "header_bytes";
        reason = "input limit exceeded: headers over max_header_bytes " + options.limits().maxHeaderBytes();
      } else if (cause instanceof TooLongFrameException) {
        limit = "request_bytes";
        reason = "input limit exceeded: " + cause.getMessage();
      } else {
        reason = "malformed HTTP request";
      }
      CheckRequest request = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
          .setRequest(AttributeContext.Request.newBuilder().setHttp(AttributeContext.HttpRequest.getDefaultInstance())))
          .build();
      CheckResponse response = service.refuse(request, reason, limit);
      closing = true;
      lastWrite = write(ctx, HttpCheckRequests.answer(response), HttpVersion.HTTP_1_1, false);
    }

    /** The request as it arrived, for the audit record of a refusal. */
    private static CheckRequest minimal(HttpCheckRequests.Incoming in) {
      return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
          .setRequest(AttributeContext.Request.newBuilder().setHttp(AttributeContext.HttpRequest.newBuilder()
              .setMethod(in.method()).setPath(in.target()))))
          .build();
    }

    private static ChannelFuture write(ChannelHandlerContext ctx, HttpCheckRequests.Answer answer, HttpVersion version,
        boolean keepAlive) {
      ByteBuf body = answer.body().isEmpty() ? Unpooled.EMPTY_BUFFER
          : Unpooled.copiedBuffer(answer.body(), StandardCharsets.UTF_8);
      FullHttpResponse response = new DefaultFullHttpResponse(version,
          HttpResponseStatus.valueOf(answer.status()), body);
      for (Map.Entry<String, String> h : answer.headers()) {
        try {
          response.headers().set(h.getKey(), h.getValue());
        } catch (IllegalArgumentException e) {
          // A value Netty refuses (a CR or LF from a client-supplied header source) is left out.
        }
      }
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
      HttpUtil.setKeepAlive(response, keepAlive);
      if (keepAlive) {
        return ctx.writeAndFlush(response);
      }
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      return ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A reset, a read timeout, a TLS failure: the connection goes; nothing is logged per request.
      ctx.close();
    }
  }

  static String firstUriSan(X509Certificate leaf) {
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans == null) {
        return null;
      }
      for (List<?> san : sans) {
        if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri) {
          return uri;
        }
      }
      return null;
    } catch (CertificateParsingException e) {
      return null;
    }
  }
}

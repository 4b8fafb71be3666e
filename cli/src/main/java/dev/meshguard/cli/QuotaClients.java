package dev.meshguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import dev.meshguard.core.tls.TlsContext;
import dev.meshguard.core.tls.TlsOptions;
import dev.meshguard.ratelimit.quota.v1.DeleteQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsAboveRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaResponse;
import dev.meshguard.ratelimit.quota.v1.QuotaServiceGrpc;
import dev.meshguard.ratelimit.quota.v1.TenantQuota;
import dev.meshguard.ratelimit.quota.v1.TenantRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The quota API over gRPC ({@code meshguard.quota.v1.QuotaService} on the rate limit server's
 * port), for {@code meshguard quota --grpc}: the same operations as the JSON API, answered with the
 * same JSON documents (the proto's field names are the JSON keys), so every subcommand prints alike
 * over both transports. A refusal's gRPC code is mapped to the JSON API's HTTP status, and the
 * {@code [field: ...]} the server appends to its message becomes the answer's {@code field}.
 */
final class QuotaClients {
  private QuotaClients() {}

  /** One transport of the quota API. */
  interface Client extends AutoCloseable {
    QuotaCommand.Answer put(String tenant, String body, boolean force) throws QuotaCommand.LocalError, IOException;

    QuotaCommand.Answer get(String tenant) throws QuotaCommand.LocalError, IOException;

    QuotaCommand.Answer delete(String tenant, boolean force) throws QuotaCommand.LocalError, IOException;

    QuotaCommand.Answer usage(String tenant) throws QuotaCommand.LocalError, IOException;

    QuotaCommand.Answer reset(String tenant) throws QuotaCommand.LocalError, IOException;

    /** Every tenant with a quota; with {@code above}, the tenants above that ratio. */
    QuotaCommand.Answer list(String above) throws QuotaCommand.LocalError, IOException;

    @Override
    default void close() {}
  }

  /** The option that pins the server's SPIFFE ID, named in errors. */
  static final String SERVER_ID_OPTION = "--server-spiffe-id";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  // Fields without presence (a used of 0, an empty list) are printed too: the tables read them.
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames()
      .alwaysPrintFieldsWithNoPresence();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser();
  private static final Pattern FIELD = Pattern.compile("(.*) \\[field: ([^\\]]*)\\]$", Pattern.DOTALL);

  /**
   * A client of the gRPC service at {@code target} ({@code host:port}).
   *
   * @param ca the CA bundle the server's certificate must chain to; null for plaintext
   * @param cert the client certificate (mTLS: its SPIFFE ID in {@code ratelimit.quota.admin_spiffe_ids});
   *     null for none
   * @param token the bearer token; null for none
   * @param serverId the SPIFFE ID the server's certificate must carry (its one URI SAN), checked after
   *     the chain to {@code ca}; null for any SVID that chains to {@code ca}
   */
  static Client grpc(String target, Path ca, Path cert, Path key, String token, SpiffeId serverId,
      Supplier<Crypto> crypto) throws QuotaCommand.LocalError {
    int colon = target.lastIndexOf(':');
    int port;
    try {
      port = colon < 1 ? -1 : Integer.parseInt(target.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new QuotaCommand.LocalError("--grpc: expected HOST:PORT, e.g. 127.0.0.1:8081, found '" + target + "'");
    }
    String host = target.substring(0, colon).replaceAll("^\\[|\\]$", "");
    TlsContext tls = null;
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
    if (ca == null) {
      builder.usePlaintext();
    } else {
      try {
        // The server is known by its SVID chaining to the bundle and, when pinned, by its SPIFFE ID
        // (an SVID carries no host name, so core's ClientTls, which verifies host names, does not
        // fit; TlsContext takes its provider from the same Crypto: BCJSSE in FIPS mode).
        SpiffeIdAllowList servers = serverId == null ? SpiffeIdAllowList.ANY_AUTHENTICATED
            : SpiffeIdAllowList.parse(SERVER_ID_OPTION, List.of(serverId.toString()));
        tls = TlsContext.forClient(TlsOptions.builder().trustBundleFile(ca).certFile(cert).keyFile(key)
            .allowedPeers(servers).reloadInterval(Duration.ZERO).build(), crypto.get(), null);
      } catch (ConfigException e) {
        StringBuilder message = new StringBuilder("TLS:");
        for (ConfigError error : e.errors()) {
          message.append(' ').append(error.message());
        }
        throw new QuotaCommand.LocalError(message.toString());
      }
      builder.sslContext(tls.sslContext());
    }
    return new GrpcClient(builder.build(), tls, token, target);
  }

  private static final class GrpcClient implements Client {
    private final ManagedChannel channel;
    private final TlsContext tls;
    private final QuotaServiceGrpc.QuotaServiceBlockingStub stub;
    private final String target;

    GrpcClient(ManagedChannel channel, TlsContext tls, String token, String target) {
      this.channel = channel;
      this.tls = tls;
      this.target = target;
      QuotaServiceGrpc.QuotaServiceBlockingStub s = QuotaServiceGrpc.newBlockingStub(channel);
      if (token != null) {
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + token);
        s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
      }
      this.stub = s;
    }

    private QuotaServiceGrpc.QuotaServiceBlockingStub stub() {
      return stub.withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @FunctionalInterface
    private interface Call {
      QuotaCommand.Answer call() throws InvalidProtocolBufferException, IOException, QuotaCommand.LocalError;
    }

    private QuotaCommand.Answer answer(Call call) throws QuotaCommand.LocalError, IOException {
      try {
        return call.call();
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        CertificateException refused = certificateRefusal(status.getCause());
        if (refused != null) {
          // This client refused the server's certificate: a wrong --tls-ca or --server-spiffe-id,
          // or another server on that port. Not worth a retry, so not "unavailable".
          throw new IOException("refused the TLS certificate of the quota service at " + target + ": "
              + refused.getMessage(), e);
        }
        if (status.getCode() == Status.Code.UNAVAILABLE) {
          // The transport's (refused, reset, a TLS mismatch) or the server's (its store is down).
          String why = status.getCause() != null ? status.getCause().getMessage() : status.getDescription();
          throw new IOException("the quota service at " + target + " is unavailable: " + why
              + " (is meshguard ratelimit or up running there, with TLS as given?)", e);
        }
        return refusal(status);
      } catch (InvalidProtocolBufferException e) {
        throw new IOException("the server's answer does not print as JSON: " + e.getMessage(), e);
      }
    }

    /**
     * The trust manager's reason when the handshake failed on the server's certificate: SunJSSE
     * and BCJSSE both keep it in the cause chain of their handshake exception.
     */
    private static CertificateException certificateRefusal(Throwable cause) {
      CertificateException found = null;
      for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
        if (t instanceof CertificateException c) {
          found = c;
        }
      }
      return found;
    }

    private static QuotaCommand.Answer refusal(Status status) {
      ObjectNode body = QuotaCommand.JSON.createObjectNode();
      String description = status.getDescription() == null ? status.getCode().name() : status.getDescription();
      Matcher m = FIELD.matcher(description);
      if (m.matches()) {
        body.put("error", m.group(1));
        body.put("field", m.group(2));
      } else {
        body.put("error", description);
      }
      int http = switch (status.getCode()) {
        case INVALID_ARGUMENT -> 400;
        case UNAUTHENTICATED -> 401;
        case PERMISSION_DENIED -> 403;
        case NOT_FOUND -> 404;
        case FAILED_PRECONDITION -> 409;
        case UNAVAILABLE -> 503;
        default -> 500;
      };
      return new QuotaCommand.Answer(http, body, status.getCode().name());
    }

    private static JsonNode json(MessageOrBuilder message) throws InvalidProtocolBufferException, IOException {
      return QuotaCommand.JSON.readTree(PRINTER.print(message));
    }

    private static TenantRequest tenant(String tenant) {
      return TenantRequest.newBuilder().setTenant(tenant).build();
    }

    @Override
    public QuotaCommand.Answer put(String tenant, String body, boolean force)
        throws QuotaCommand.LocalError, IOException {
      TenantQuota.Builder quota = TenantQuota.newBuilder();
      try {
        PARSER.merge(body, quota);
      } catch (InvalidProtocolBufferException e) {
        throw new QuotaCommand.LocalError("the quota does not fit meshguard.quota.v1.TenantQuota: " + e.getMessage());
      }
      return answer(() -> {
        PutQuotaResponse response = stub().putQuota(PutQuotaRequest.newBuilder().setForce(force)
            .setQuota(quota.setTenant(tenant)).build());
        return new QuotaCommand.Answer(response.getCreated() ? 201 : 200, json(response.getQuota()), "OK");
      });
    }

    @Override
    public QuotaCommand.Answer get(String tenant) throws QuotaCommand.LocalError, IOException {
      return answer(() -> new QuotaCommand.Answer(200, json(stub().getQuota(tenant(tenant))), "OK"));
    }

    @Override
    public QuotaCommand.Answer delete(String tenant, boolean force) throws QuotaCommand.LocalError, IOException {
      return answer(() -> new QuotaCommand.Answer(200, json(stub().deleteQuota(DeleteQuotaRequest.newBuilder()
          .setTenant(tenant).setForce(force).build())), "OK"));
    }

    @Override
    public QuotaCommand.Answer usage(String tenant) throws QuotaCommand.LocalError, IOException {
      return answer(() -> new QuotaCommand.Answer(200, json(stub().getUsage(tenant(tenant))), "OK"));
    }

    @Override
    public QuotaCommand.Answer reset(String tenant) throws QuotaCommand.LocalError, IOException {
      return answer(() -> new QuotaCommand.Answer(200, json(stub().resetUsage(tenant(tenant))), "OK"));
    }

    @Override
    public QuotaCommand.Answer list(String above) throws QuotaCommand.LocalError, IOException {
      if (above == null) {
        return answer(() -> new QuotaCommand.Answer(200, json(stub().listTenants(ListTenantsRequest.getDefaultInstance())),
            "OK"));
      }
      double ratio;
      try {
        ratio = Double.parseDouble(above);
      } catch (NumberFormatException e) {
        throw new QuotaCommand.LocalError("--above must be a ratio (0.8 is 80%), found '" + above + "'");
      }
      return answer(() -> new QuotaCommand.Answer(200, json(stub().listTenantsAbove(ListTenantsAboveRequest
          .newBuilder().setAbove(ratio).build())), "OK"));
    }

    @Override
    public void close() {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (tls != null) {
        tls.close();
      }
    }
  }
}

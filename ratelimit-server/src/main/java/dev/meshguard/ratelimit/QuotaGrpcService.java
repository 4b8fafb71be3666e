package dev.meshguard.ratelimit;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.meshguard.core.tls.PeerAuthorizationInterceptor;
import dev.meshguard.ratelimit.quota.v1.DeleteQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsAboveRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsAboveResponse;
import dev.meshguard.ratelimit.quota.v1.ListTenantsRequest;
import dev.meshguard.ratelimit.quota.v1.ListTenantsResponse;
import dev.meshguard.ratelimit.quota.v1.PutQuotaRequest;
import dev.meshguard.ratelimit.quota.v1.PutQuotaResponse;
import dev.meshguard.ratelimit.quota.v1.QuotaServiceGrpc;
import dev.meshguard.ratelimit.quota.v1.TenantQuota;
import dev.meshguard.ratelimit.quota.v1.TenantRequest;
import dev.meshguard.ratelimit.quota.v1.TenantUsage;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code meshguard.quota.v1.QuotaService} on the rate limit server's gRPC port: the operations of
 * {@link QuotaAdminApi}, which it calls, so both transports decide, audit and refuse alike.
 *
 * <p>A caller is admitted by the SPIFFE ID of its client certificate when
 * {@code ratelimit.quota.admin_spiffe_ids} lists it (the port serves TLS), else by the bearer token
 * (metadata {@code authorization: Bearer TOKEN}), see {@link QuotaAdminApi#grpcCaller}; before the
 * API is {@link #enable enabled}, every call is refused. Messages are mapped to and from the JSON API's
 * documents with {@link JsonFormat} (the proto's field names are the JSON keys).
 *
 * <p>Error mapping: 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 409
 * FAILED_PRECONDITION, 503 UNAVAILABLE, anything else INTERNAL; the description is the JSON API's
 * message.
 */
final class QuotaGrpcService extends QuotaServiceGrpc.QuotaServiceImplBase {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> AUTH_HEADER = Context.key("meshguard-quota-authorization");
  private static final Context.Key<String> PEER = Context.key("meshguard-quota-peer");
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private final AtomicReference<QuotaAdminApi> api = new AtomicReference<>();

  /** Serves calls through {@code admin} from now on. */
  void enable(QuotaAdminApi admin) {
    api.set(admin);
  }

  /** The service with the interceptor that hands the authorization metadata and peer to calls. */
  ServerServiceDefinition definition() {
    return ServerInterceptors.intercept(this, new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
          ServerCallHandler<Q, A> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        String peer = remote instanceof InetSocketAddress inet && inet.getAddress() != null
            ? inet.getAddress().getHostAddress() : String.valueOf(remote);
        Context context = Context.current().withValue(AUTH_HEADER, headers.get(AUTHORIZATION)).withValue(PEER, peer);
        return Contexts.interceptCall(context, call, headers, next);
      }
    });
  }

  @FunctionalInterface
  private interface Operation {
    QuotaAdminApi.Reply apply(QuotaAdminApi admin, QuotaAdminApi.Caller caller) throws QuotaAdminApi.ApiException;
  }

  private <M extends Message> void answer(Operation operation, Message.Builder builder, StreamObserver<M> observer) {
    QuotaAdminApi admin = api.get();
    if (admin == null) {
      observer.onError(Status.UNAVAILABLE.withDescription("the quota API is not served by this process")
          .asRuntimeException());
      return;
    }
    try {
      QuotaAdminApi.Caller caller = admin.grpcCaller(PeerAuthorizationInterceptor.PEER_SPIFFE_ID.get(),
          AUTH_HEADER.get(), PEER.get());
      QuotaAdminApi.Reply reply = operation.apply(admin, caller);
      PARSER.merge(reply.json(), builder);
      @SuppressWarnings("unchecked")
      M message = (M) builder.build();
      observer.onNext(message);
      observer.onCompleted();
    } catch (QuotaAdminApi.ApiException e) {
      observer.onError(status(e.status).withDescription(e.getMessage()
          + (e.field == null ? "" : " [field: " + e.field + "]")).asRuntimeException());
    } catch (StoreException e) {
      observer.onError(Status.UNAVAILABLE.withDescription("the quota store cannot answer: " + e.getMessage())
          .asRuntimeException());
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      observer.onError(Status.INTERNAL.withDescription("internal error: " + e.getClass().getSimpleName())
          .asRuntimeException());
    }
  }

  private static Status status(int http) {
    return switch (http) {
      case 400, 413 -> Status.INVALID_ARGUMENT;
      case 401 -> Status.UNAUTHENTICATED;
      case 403 -> Status.PERMISSION_DENIED;
      case 404 -> Status.NOT_FOUND;
      case 409 -> Status.FAILED_PRECONDITION;
      case 503 -> Status.UNAVAILABLE;
      default -> Status.INTERNAL;
    };
  }

  @Override
  public void putQuota(PutQuotaRequest request, StreamObserver<PutQuotaResponse> observer) {
    String tenant = request.getQuota().getTenant();
    PutQuotaResponse.Builder response = PutQuotaResponse.newBuilder();
    answer((admin, caller) -> {
      String body;
      try {
        body = PRINTER.print(request.getQuota().toBuilder().clearManagedBy().clearTenant());
      } catch (InvalidProtocolBufferException e) {
        throw new QuotaAdminApi.ApiException(400, "quota", "quota: " + e.getMessage());
      }
      if (tenant.isEmpty()) {
        throw new QuotaAdminApi.ApiException(400, "quota.tenant", "quota.tenant must not be empty");
      }
      QuotaAdminApi.Reply reply = admin.put(tenant, body, request.getForce(), caller);
      response.setCreated(reply.status() == 201);
      return new QuotaAdminApi.Reply(reply.status(), "{\"quota\":" + reply.json() + "}");
    }, response, observer);
  }

  @Override
  public void getQuota(TenantRequest request, StreamObserver<TenantQuota> observer) {
    answer((admin, caller) -> admin.get(tenant(request.getTenant())), TenantQuota.newBuilder(), observer);
  }

  @Override
  public void deleteQuota(DeleteQuotaRequest request, StreamObserver<TenantQuota> observer) {
    answer((admin, caller) -> admin.delete(tenant(request.getTenant()), request.getForce(), caller),
        TenantQuota.newBuilder(), observer);
  }

  @Override
  public void getUsage(TenantRequest request, StreamObserver<TenantUsage> observer) {
    answer((admin, caller) -> admin.usage(tenant(request.getTenant())), TenantUsage.newBuilder(), observer);
  }

  @Override
  public void resetUsage(TenantRequest request, StreamObserver<TenantUsage> observer) {
    answer((admin, caller) -> admin.reset(tenant(request.getTenant()), caller), TenantUsage.newBuilder(), observer);
  }

  @Override
  public void listTenants(ListTenantsRequest request, StreamObserver<ListTenantsResponse> observer) {
    answer((admin, caller) -> admin.listAll(), ListTenantsResponse.newBuilder(), observer);
  }

  @Override
  public void listTenantsAbove(ListTenantsAboveRequest request, StreamObserver<ListTenantsAboveResponse> observer) {
    answer((admin, caller) -> admin.listAbove(request.getAbove(), Double.toString(request.getAbove())),
        ListTenantsAboveResponse.newBuilder(), observer);
  }

  private static String tenant(String tenant) throws QuotaAdminApi.ApiException {
    if (tenant.isEmpty()) {
      throw new QuotaAdminApi.ApiException(400, "tenant", "tenant must not be empty");
    }
    return tenant;
  }
}

package dev.meshguard.ca.workload;

import dev.meshguard.core.spiffe.SpiffeId;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs before every Workload API call (SPIFFE_Workload_Endpoint.md §4, SPIFFE_Workload_API.md §5):
 * a call without the metadata {@code workload.spiffe.io: true} is INVALID_ARGUMENT (the client
 * must not retry); a caller no registration entry matches is PERMISSION_DENIED (it may retry,
 * e.g. after it is registered). Otherwise the caller's identities, in entry order, are in
 * {@link #IDENTITIES} for the service.
 */
final class CallerInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> SECURITY_HEADER = Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);
  /** The caller's SPIFFE IDs, never empty inside a call. */
  static final Context.Key<List<SpiffeId>> IDENTITIES = Context.key("meshguard.workload.identities");

  private final List<RegistrationEntry> entries;

  CallerInterceptor(List<RegistrationEntry> entries) {
    this.entries = List.copyOf(entries);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    // The value is case-sensitive: exactly "true".
    if (!"true".equals(headers.get(SECURITY_HEADER))) {
      return refuse(call, Status.INVALID_ARGUMENT.withDescription(
          "security header missing from request: a Workload API call must carry the metadata workload.spiffe.io: true"));
    }
    CallerCredentials caller = call.getAttributes().get(PeerCredentialsNegotiator.CALLER);
    if (caller == null) {
      return refuse(call, Status.PERMISSION_DENIED.withDescription(
          "no identity issued: the caller's credentials could not be read from the socket"));
    }
    List<SpiffeId> identities = identitiesOf(caller);
    if (identities.isEmpty()) {
      return refuse(call, Status.PERMISSION_DENIED.withDescription(
          "no identity issued: no registration entry matches the caller (" + caller + ")"));
    }
    return Contexts.interceptCall(Context.current().withValue(IDENTITIES, identities), call, headers, next);
  }

  /** The distinct SPIFFE IDs of the entries {@code caller} matches, in entry order. */
  List<SpiffeId> identitiesOf(CallerCredentials caller) {
    List<SpiffeId> identities = new ArrayList<>(2);
    for (RegistrationEntry entry : entries) {
      if (entry.matches(caller)) {
        SpiffeId id = entry.id();
        if (!identities.contains(id)) {
          identities.add(id);
        }
      }
    }
    return List.copyOf(identities);
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }
}

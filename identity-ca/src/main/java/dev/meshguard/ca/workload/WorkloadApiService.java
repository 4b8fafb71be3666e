package dev.meshguard.ca.workload;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.meshguard.ca.JwtSigningKey;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.ca.TrustBundle;
import dev.meshguard.ca.workload.proto.SpiffeWorkloadAPIGrpc;
import dev.meshguard.ca.workload.proto.Workload.JWTBundlesRequest;
import dev.meshguard.ca.workload.proto.Workload.JWTBundlesResponse;
import dev.meshguard.ca.workload.proto.Workload.JWTSVID;
import dev.meshguard.ca.workload.proto.Workload.JWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.JWTSVIDResponse;
import dev.meshguard.ca.workload.proto.Workload.ValidateJWTSVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.ValidateJWTSVIDResponse;
import dev.meshguard.ca.workload.proto.Workload.X509BundlesRequest;
import dev.meshguard.ca.workload.proto.Workload.X509BundlesResponse;
import dev.meshguard.ca.workload.proto.Workload.X509SVID;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDRequest;
import dev.meshguard.ca.workload.proto.Workload.X509SVIDResponse;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The {@code SpiffeWorkloadAPI} service. The caller's identities come from
 * {@link CallerInterceptor#IDENTITIES}; SVIDs from the {@link SvidAgent}; bundles and JWT keys
 * from the {@link RootRotation}.
 *
 * <p>Streams follow SPIFFE_Workload_API.md §5.2: the first message goes out at once, and every
 * later one is the whole current state, sent whenever it differs from the last one sent (an SVID
 * rotated, a root was published or dropped). Request handlers never throw and never log; every
 * refusal is a status with a reason.
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {

  private final Clock clock;
  private final SvidAgent agent;
  private final RootRotation rotation;
  private final Duration jwtSvidTtl;
  private final Set<Stream<?>> streams = ConcurrentHashMap.newKeySet();
  /** The encoded bundles of one {@link TrustBundle#sequence()}; replaced when it changes. */
  private volatile EncodedBundle encoded;

  WorkloadApiService(Clock clock, SvidAgent agent, RootRotation rotation, Duration jwtSvidTtl) {
    this.clock = clock;
    this.agent = agent;
    this.rotation = rotation;
    this.jwtSvidTtl = jwtSvidTtl;
  }

  private record EncodedBundle(long sequence, String trustDomainId, ByteString x509Der, ByteString jwks) {}

  private EncodedBundle bundle() {
    TrustBundle bundle = rotation.current();
    EncodedBundle cached = encoded;
    if (cached != null && cached.sequence() == bundle.sequence()) {
      return cached;
    }
    ByteString x509;
    try {
      x509 = SvidAgent.der(bundle.x509Authorities());
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode a parsed CA certificate", e);
    }
    List<JWK> keys = bundle.jwtAuthorities().stream().map(JwtSigningKey::publicJwk).toList();
    ByteString jwks = ByteString.copyFrom(new JWKSet(keys).toString(true), StandardCharsets.UTF_8);
    EncodedBundle fresh = new EncodedBundle(bundle.sequence(), SpiffeId.SCHEME_PREFIX + bundle.trustDomain(), x509, jwks);
    encoded = fresh;
    return fresh;
  }

  @Override
  public void fetchX509SVID(X509SVIDRequest request, StreamObserver<X509SVIDResponse> observer) {
    List<SpiffeId> identities = CallerInterceptor.IDENTITIES.get();
    subscribe(observer, () -> x509Response(identities),
        "no X.509-SVID is issued yet for " + identities + "; the CA may be unavailable, retry later");
  }

  /** The caller's SVIDs in entry order (the first is its default), or null when none is issued. */
  private X509SVIDResponse x509Response(List<SpiffeId> identities) {
    Map<SpiffeId, SvidAgent.Svid> svids = agent.current();
    EncodedBundle bundle = bundle();
    X509SVIDResponse.Builder response = X509SVIDResponse.newBuilder();
    for (SpiffeId id : identities) {
      SvidAgent.Svid svid = svids.get(id);
      if (svid != null) {
        response.addSvids(X509SVID.newBuilder()
            .setSpiffeId(id.toString())
            .setX509Svid(svid.chainDer())
            .setX509SvidKey(svid.keyDer())
            .setBundle(bundle.x509Der()));
      }
    }
    return response.getSvidsCount() == 0 ? null : response.build();
  }

  @Override
  public void fetchX509Bundles(X509BundlesRequest request, StreamObserver<X509BundlesResponse> observer) {
    subscribe(observer, () -> {
      EncodedBundle bundle = bundle();
      return X509BundlesResponse.newBuilder().putBundles(bundle.trustDomainId(), bundle.x509Der()).build();
    }, "no bundle");
  }

  @Override
  public void fetchJWTBundles(JWTBundlesRequest request, StreamObserver<JWTBundlesResponse> observer) {
    subscribe(observer, () -> {
      EncodedBundle bundle = bundle();
      return JWTBundlesResponse.newBuilder().putBundles(bundle.trustDomainId(), bundle.jwks()).build();
    }, "no bundle");
  }

  @Override
  public void fetchJWTSVID(JWTSVIDRequest request, StreamObserver<JWTSVIDResponse> observer) {
    if (request.getAudienceCount() == 0) {
      observer.onError(Status.INVALID_ARGUMENT.withDescription("audience must be specified").asRuntimeException());
      return;
    }
    List<SpiffeId> identities = CallerInterceptor.IDENTITIES.get();
    if (!request.getSpiffeId().isEmpty()) {
      SpiffeId requested;
      try {
        requested = SpiffeId.parse(request.getSpiffeId());
      } catch (InvalidSpiffeIdException e) {
        observer.onError(Status.INVALID_ARGUMENT.withDescription("spiffe_id \"" + request.getSpiffeId()
            + "\" is not a SPIFFE ID: " + e.getMessage()).asRuntimeException());
        return;
      }
      if (!identities.contains(requested)) {
        observer.onError(Status.PERMISSION_DENIED.withDescription("the caller is not entitled to " + requested
            + " (its identities: " + identities + ")").asRuntimeException());
        return;
      }
      identities = List.of(requested);
    }
    JwtSigningKey key = rotation.active().jwtKey();
    JWTSVIDResponse.Builder response = JWTSVIDResponse.newBuilder();
    try {
      for (SpiffeId id : identities) {
        String token = JwtSvids.issue(key, id, request.getAudienceList(), clock.now(), jwtSvidTtl);
        response.addSvids(JWTSVID.newBuilder().setSpiffeId(id.toString()).setSvid(token));
      }
    } catch (ConfigException | RuntimeException e) {
      // A provider refusal is a server problem, not the caller's; its detail stays out of the answer.
      observer.onError(Status.INTERNAL.withDescription("cannot sign the JWT-SVID").asRuntimeException());
      return;
    }
    observer.onNext(response.build());
    observer.onCompleted();
  }

  @Override
  public void validateJWTSVID(ValidateJWTSVIDRequest request, StreamObserver<ValidateJWTSVIDResponse> observer) {
    if (request.getAudience().isEmpty()) {
      observer.onError(Status.INVALID_ARGUMENT.withDescription("audience must be specified").asRuntimeException());
      return;
    }
    if (request.getSvid().isEmpty()) {
      observer.onError(Status.INVALID_ARGUMENT.withDescription("svid must be specified").asRuntimeException());
      return;
    }
    switch (JwtSvids.validate(request.getSvid(), request.getAudience(), rotation.current(), clock.now())) {
      case JwtSvids.Invalid invalid -> observer.onError(
          Status.INVALID_ARGUMENT.withDescription(invalid.reason()).asRuntimeException());
      case JwtSvids.Valid valid -> {
        observer.onNext(ValidateJWTSVIDResponse.newBuilder()
            .setSpiffeId(valid.spiffeId().toString())
            .setClaims(valid.claims())
            .build());
        observer.onCompleted();
      }
    }
  }

  /** Sends every open stream the current state, where it differs from what the stream last got. */
  void publish() {
    for (Stream<?> stream : streams) {
      stream.push();
    }
  }

  /** Ends every open stream with UNAVAILABLE, so clients reconnect to the next server. */
  void closeStreams() {
    for (Stream<?> stream : new ArrayList<>(streams)) {
      stream.end();
    }
  }

  private <T extends Message> void subscribe(StreamObserver<T> observer, Supplier<T> render, String unavailable) {
    ServerCallStreamObserver<T> call = (ServerCallStreamObserver<T>) observer;
    Stream<T> stream = new Stream<>(call, render);
    call.setOnCancelHandler(() -> streams.remove(stream));
    T first;
    try {
      first = render.get();
    } catch (RuntimeException e) {
      first = null;
    }
    if (first == null) {
      call.onError(Status.UNAVAILABLE.withDescription(unavailable).asRuntimeException());
      return;
    }
    streams.add(stream);
    stream.push();
  }

  /**
   * One open stream. {@link #push()} is synchronised so the refresh thread and the call's own
   * first push never interleave, and each renders the state current at that moment: messages go
   * out in state order, and an unchanged state sends nothing.
   */
  private final class Stream<T extends Message> {
    private final ServerCallStreamObserver<T> call;
    private final Supplier<T> render;
    private T lastSent;
    private boolean ended;

    Stream(ServerCallStreamObserver<T> call, Supplier<T> render) {
      this.call = call;
      this.render = render;
    }

    synchronized void push() {
      if (ended || call.isCancelled()) {
        streams.remove(this);
        return;
      }
      try {
        T message = render.get();
        if (message == null || message.equals(lastSent)) {
          return;
        }
        call.onNext(message);
        lastSent = message;
      } catch (RuntimeException e) {
        // The call went away between the check and the send.
        streams.remove(this);
      }
    }

    synchronized void end() {
      streams.remove(this);
      if (!ended && !call.isCancelled()) {
        ended = true;
        try {
          call.onError(Status.UNAVAILABLE.withDescription("the Workload API is shutting down").asRuntimeException());
        } catch (RuntimeException e) {
          // Already closed.
        }
      }
    }
  }
}

package dev.meshguard.bench;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.stub.StreamObserver;

/**
 * rls-load's baseline: a rate limit service that decides nothing. It answers every request at
 * once with {@code OK} and one {@code OK} status per descriptor (responses prebuilt for up to
 * {@value #PREBUILT} descriptors), so what it costs is gRPC, protobuf and the transport: what
 * every rate limit server on the same {@code GrpcServer} pays before deciding anything.
 */
final class NullRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {
  static final int PREBUILT = 16;

  private static final RateLimitResponse.DescriptorStatus OK_STATUS = RateLimitResponse.DescriptorStatus.newBuilder()
      .setCode(RateLimitResponse.Code.OK).build();
  private static final RateLimitResponse[] RESPONSES = prebuilt();

  @Override
  public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> responseObserver) {
    int n = request.getDescriptorsCount();
    responseObserver.onNext(n < RESPONSES.length ? RESPONSES[n] : response(n));
    responseObserver.onCompleted();
  }

  private static RateLimitResponse[] prebuilt() {
    RateLimitResponse[] responses = new RateLimitResponse[PREBUILT + 1];
    for (int n = 0; n <= PREBUILT; n++) {
      responses[n] = response(n);
    }
    return responses;
  }

  private static RateLimitResponse response(int descriptors) {
    RateLimitResponse.Builder response = RateLimitResponse.newBuilder().setOverallCode(RateLimitResponse.Code.OK);
    for (int i = 0; i < descriptors; i++) {
      response.addStatuses(OK_STATUS);
    }
    return response.build();
  }
}

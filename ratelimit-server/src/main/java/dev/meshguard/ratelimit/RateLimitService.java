package dev.meshguard.ratelimit;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's global rate limit service, {@code envoy.service.ratelimit.v3.RateLimitService}
 * ({@code api/envoy/service/ratelimit/v3/rls.proto}): translates a {@code RateLimitRequest} into a
 * {@link RateLimitEngine#decide} call and the {@link RateLimitDecision} back into a
 * {@code RateLimitResponse}, field for field.
 *
 * <ul>
 *   <li>{@code hits_addend} (request, uint32): 0 means 1. A descriptor's {@code hits_addend}
 *       ({@code UInt64Value}), when present, replaces it and may be 0 to check without counting.
 *       Values of 2<sup>32</sup> and above are counted as 2<sup>32</sup>: already over any uint32
 *       limit, and a counter cannot overflow.
 *   <li>A descriptor's {@code limit} ({@code RateLimitOverride}) is used when the domain exists. An
 *       override with unit {@code UNKNOWN} is ignored (upstream would panic on it).
 *   <li>Statuses: one per descriptor, in request order, with {@code code}, {@code current_limit}
 *       ({@code requests_per_unit}, {@code unit}, {@code name}), {@code limit_remaining} and
 *       {@code duration_until_reset}; the last two only as the engine decides them.
 * </ul>
 *
 * <p>{@code response_headers_to_add}: when {@link ResponseHeaders#enabled()}, the three
 * {@code RateLimit-*} headers of one status, chosen as upstream does (see {@link ResponseHeaders}).
 *
 * <p>Errors: an empty domain or descriptor list is {@code INVALID_ARGUMENT} with upstream's
 * message (upstream answers a plain error, i.e. {@code UNKNOWN}; the issue asks for the more
 * precise code). So is a request beyond {@link #MAX_DESCRIPTORS} or {@link #MAX_ENTRIES} — Envoy
 * builds a handful per route. Otherwise the request path never fails: store failures are answered
 * by the engine's {@link FailureMode}, and any other exception by the same failure mode here,
 * counted in {@link #internalErrors()}.
 */
public final class RateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  /** More descriptors than this in one request is INVALID_ARGUMENT. */
  public static final int MAX_DESCRIPTORS = 256;
  /** More entries than this in one descriptor is INVALID_ARGUMENT. */
  public static final int MAX_ENTRIES = 64;

  static final String EMPTY_DOMAIN = "rate limit domain must not be empty";
  static final String NO_DESCRIPTORS = "rate limit descriptor list must not be empty";

  /** Per-descriptor hits are capped here: over every uint32 limit, far from overflowing a long. */
  private static final long MAX_HITS = 1L << 32;

  private static final RateLimitResponse.RateLimit.Unit[] UNITS = unitTable();
  private static final RateLimitResponse.DescriptorStatus NO_LIMIT = RateLimitResponse.DescriptorStatus.newBuilder()
      .setCode(RateLimitResponse.Code.OK).build();
  private static final RateLimitResponse.DescriptorStatus UNLIMITED = RateLimitResponse.DescriptorStatus.newBuilder()
      .setCode(RateLimitResponse.Code.OK).setLimitRemaining((int) RateLimit.UINT32_MAX).build();
  private static final RateLimitResponse.DescriptorStatus DENIED = RateLimitResponse.DescriptorStatus.newBuilder()
      .setCode(RateLimitResponse.Code.OVER_LIMIT).build();

  private final RateLimitEngine engine;
  private final ThrottleListener listener;
  private final ResponseHeaders headers;
  private final QuotaListener quotaListener;
  private final TenantIndex tenants;
  private final LongAdder internalErrors = new LongAdder();

  public RateLimitService(RateLimitEngine engine) {
    this(engine, ThrottleListener.NONE);
  }

  /** @param listener told of each counter's first over-limit hit per window */
  public RateLimitService(RateLimitEngine engine, ThrottleListener listener) {
    this(engine, listener, ResponseHeaders.DEFAULTS);
  }

  /**
   * @param listener told of each counter's first over-limit hit per window
   * @param headers whether and how to add the {@code RateLimit-*} response headers
   */
  public RateLimitService(RateLimitEngine engine, ThrottleListener listener, ResponseHeaders headers) {
    this(engine, listener, headers, QuotaListener.NONE);
  }

  /**
   * @param listener told of each counter's first over-limit hit per window
   * @param headers whether and how to add the {@code RateLimit-*} response headers
   * @param quotaListener told when a tenant's usage crosses 80% and 100% of a quota limit
   */
  public RateLimitService(RateLimitEngine engine, ThrottleListener listener, ResponseHeaders headers,
      QuotaListener quotaListener) {
    this(engine, listener, headers, quotaListener, null);
  }

  /** @param tenants told of every tenant a request named, after its response; null: nobody */
  RateLimitService(RateLimitEngine engine, ThrottleListener listener, ResponseHeaders headers,
      QuotaListener quotaListener, TenantIndex tenants) {
    this.tenants = tenants;
    this.quotaListener = Objects.requireNonNull(quotaListener, "quotaListener");
    this.engine = Objects.requireNonNull(engine, "engine");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.headers = Objects.requireNonNull(headers, "headers");
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> responseObserver) {
    String invalid = invalidReason(request);
    if (invalid != null) {
      responseObserver.onError(Status.INVALID_ARGUMENT.withDescription(invalid).asRuntimeException());
      return;
    }
    RateLimitResponse response;
    List<Descriptor> descriptors = null;
    RateLimitDecision decision = null;
    try {
      descriptors = descriptors(request);
      decision = engine.decide(request.getDomain(), descriptors, Integer.toUnsignedLong(request.getHitsAddend()));
      response = toResponse(decision, headers);
    } catch (RuntimeException e) {
      // A bug, not a store failure (the engine answers those): fail as configured, visibly.
      internalErrors.increment();
      decision = null;
      response = failureResponse(request.getDescriptorsCount());
    }
    responseObserver.onNext(response);
    responseObserver.onCompleted();
    if (decision != null && !decision.throttled().isEmpty()) {
      notifyThrottled(request.getDomain(), descriptors, decision);
    }
    if (decision != null && decision.quota() != null) {
      if (tenants != null) {
        tenants.seen(decision.quota().tenant()); // for "tenants above N%": those on the default quota too
      }
      if (decision.quota().outcome() != null) {
        notifyQuota(decision.quota());
      }
    }
  }

  private void notifyQuota(RateLimitDecision.QuotaDecision quota) {
    for (QuotaOutcome.LimitUsage usage : quota.outcome().limits()) {
      for (int percent : new int[] {80, 100}) {
        if (usage.crossed(percent)) {
          try {
            quotaListener.crossed(quota.tenant(), usage, percent);
          } catch (RuntimeException e) {
            internalErrors.increment();
          }
        }
      }
    }
  }

  private void notifyThrottled(String domain, List<Descriptor> descriptors, RateLimitDecision decision) {
    for (int i : decision.throttled()) {
      try {
        listener.throttled(domain, descriptors.get(i), decision.statuses().get(i));
      } catch (RuntimeException e) {
        internalErrors.increment();
      }
    }
  }

  /** Requests answered by the failure mode because of an unexpected exception, since start. */
  public long internalErrors() {
    return internalErrors.sum();
  }

  static String invalidReason(RateLimitRequest request) {
    if (request.getDomain().isEmpty()) {
      return EMPTY_DOMAIN;
    }
    if (request.getDescriptorsCount() == 0) {
      return NO_DESCRIPTORS;
    }
    if (request.getDescriptorsCount() > MAX_DESCRIPTORS) {
      return "rate limit descriptor list has " + request.getDescriptorsCount() + " descriptors, more than "
          + MAX_DESCRIPTORS;
    }
    for (int i = 0; i < request.getDescriptorsCount(); i++) {
      int entries = request.getDescriptors(i).getEntriesCount();
      if (entries > MAX_ENTRIES) {
        return "rate limit descriptor " + i + " has " + entries + " entries, more than " + MAX_ENTRIES;
      }
    }
    return null;
  }

  static List<Descriptor> descriptors(RateLimitRequest request) {
    List<Descriptor> descriptors = new ArrayList<>(request.getDescriptorsCount());
    for (RateLimitDescriptor proto : request.getDescriptorsList()) {
      List<Descriptor.Entry> entries = new ArrayList<>(proto.getEntriesCount());
      for (RateLimitDescriptor.Entry entry : proto.getEntriesList()) {
        entries.add(new Descriptor.Entry(entry.getKey(), entry.getValue()));
      }
      long hits = proto.hasHitsAddend() ? hits(proto.getHitsAddend()) : Descriptor.UNSET;
      descriptors.add(new Descriptor(entries, hits, proto.hasLimit() ? override(proto.getLimit()) : null));
    }
    return descriptors;
  }

  private static long hits(UInt64Value value) {
    long hits = value.getValue();
    // A uint64 in a long: values of 2^63 and above read as negative.
    return hits < 0 || hits > MAX_HITS ? MAX_HITS : hits;
  }

  private static Descriptor.LimitOverride override(RateLimitDescriptor.RateLimitOverride proto) {
    RateLimitUnit unit = switch (proto.getUnit()) {
      case SECOND -> RateLimitUnit.SECOND;
      case MINUTE -> RateLimitUnit.MINUTE;
      case HOUR -> RateLimitUnit.HOUR;
      case DAY -> RateLimitUnit.DAY;
      case MONTH -> RateLimitUnit.MONTH;
      case YEAR -> RateLimitUnit.YEAR;
      case UNKNOWN, UNRECOGNIZED -> null;
    };
    return unit == null ? null : new Descriptor.LimitOverride(Integer.toUnsignedLong(proto.getRequestsPerUnit()), unit);
  }

  static RateLimitResponse toResponse(RateLimitDecision decision) {
    return toResponse(decision, ResponseHeaders.DEFAULTS);
  }

  static RateLimitResponse toResponse(RateLimitDecision decision, ResponseHeaders headers) {
    RateLimitResponse.Builder response = RateLimitResponse.newBuilder().setOverallCode(code(decision.overallCode()));
    for (DescriptorStatus status : decision.statuses()) {
      response.addStatuses(toProto(status));
    }
    if (headers.enabled()) {
      DescriptorStatus chosen = headerStatus(decision.statuses());
      if (chosen != null) {
        response.addResponseHeadersToAdd(header(headers.limitHeader(), chosen.currentLimit().requestsPerUnit()))
            .addResponseHeadersToAdd(header(headers.remainingHeader(), chosen.limitRemaining()))
            .addResponseHeadersToAdd(header(headers.resetHeader(), chosen.durationUntilReset().getSeconds()));
      }
    }
    return response.build();
  }

  /**
   * The status the {@code RateLimit-*} headers describe, as upstream's
   * {@code shouldRateLimitWorker} picks it: the lowest {@code limit_remaining} below UINT32_MAX
   * among statuses with a limit (the first of equals), but any OVER_LIMIT status replaces it (the
   * last such). Null when no status has a limit.
   */
  static DescriptorStatus headerStatus(List<DescriptorStatus> statuses) {
    DescriptorStatus chosen = null;
    long lowest = RateLimit.UINT32_MAX;
    for (DescriptorStatus status : statuses) {
      if (status.currentLimit() != null && status.limitRemaining() < lowest) {
        chosen = status;
        lowest = status.limitRemaining();
      }
      if (status.code() == Code.OVER_LIMIT && status.currentLimit() != null) {
        chosen = status;
        lowest = 0;
      }
    }
    return chosen;
  }

  private static io.envoyproxy.envoy.config.core.v3.HeaderValue header(String name, long value) {
    return io.envoyproxy.envoy.config.core.v3.HeaderValue.newBuilder().setKey(name).setValue(Long.toString(value))
        .build();
  }

  private static RateLimitResponse.DescriptorStatus toProto(DescriptorStatus status) {
    if (status.equals(DescriptorStatus.NO_LIMIT)) {
      return NO_LIMIT;
    }
    if (status.equals(DescriptorStatus.UNLIMITED)) {
      return UNLIMITED;
    }
    RateLimitResponse.DescriptorStatus.Builder proto = RateLimitResponse.DescriptorStatus.newBuilder()
        .setCode(code(status.code()))
        // uint32 on the wire: the int's bits.
        .setLimitRemaining((int) Math.min(status.limitRemaining(), RateLimit.UINT32_MAX));
    CurrentLimit limit = status.currentLimit();
    if (limit != null) {
      proto.setCurrentLimit(RateLimitResponse.RateLimit.newBuilder()
          .setName(limit.name())
          .setRequestsPerUnit((int) limit.requestsPerUnit())
          .setUnit(UNITS[limit.unit().ordinal()]));
      proto.setDurationUntilReset(com.google.protobuf.Duration.newBuilder()
          .setSeconds(status.durationUntilReset().getSeconds())
          .setNanos(status.durationUntilReset().getNano()));
    }
    return proto.build();
  }

  private RateLimitResponse failureResponse(int descriptors) {
    boolean allow = engine.failureMode() == FailureMode.ALLOW;
    RateLimitResponse.Builder response = RateLimitResponse.newBuilder()
        .setOverallCode(allow ? RateLimitResponse.Code.OK : RateLimitResponse.Code.OVER_LIMIT);
    for (int i = 0; i < descriptors; i++) {
      response.addStatuses(allow ? NO_LIMIT : DENIED);
    }
    return response.build();
  }

  private static RateLimitResponse.Code code(Code code) {
    return switch (code) {
      case OK -> RateLimitResponse.Code.OK;
      case OVER_LIMIT -> RateLimitResponse.Code.OVER_LIMIT;
    };
  }

  private static RateLimitResponse.RateLimit.Unit[] unitTable() {
    RateLimitUnit[] ours = RateLimitUnit.values();
    RateLimitResponse.RateLimit.Unit[] table = new RateLimitResponse.RateLimit.Unit[ours.length];
    for (RateLimitUnit unit : ours) {
      // Same names in rls.proto: SECOND ... YEAR, WEEK.
      table[unit.ordinal()] = RateLimitResponse.RateLimit.Unit.valueOf(unit.name());
    }
    return table;
  }
}

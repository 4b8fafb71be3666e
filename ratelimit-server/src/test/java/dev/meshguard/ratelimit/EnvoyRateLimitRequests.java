package dev.meshguard.ratelimit;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.type.v3.RateLimitUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@code RateLimitRequest}s the way Envoy's rate limit filter does, and only here: Envoy's
 * {@code GrpcClientImpl::createRequest} ({@code source/extensions/filters/common/ratelimit/
 * ratelimit_impl.cc}) sets {@code domain}; for each descriptor the route's actions produced, one
 * {@code RateLimitDescriptor} with its entries in action order (key and value, the value never
 * absent), {@code limit} only when the descriptor carries a {@code RateLimitOverride} (from
 * dynamic metadata), {@code hits_addend} (a {@code UInt64Value}) only when the descriptor sets
 * one; and the request-level {@code hits_addend} from the filter's {@code hits_addend} setting, 0
 * when unset.
 */
final class EnvoyRateLimitRequests {
  private EnvoyRateLimitRequests() {}

  /** One descriptor as Envoy's filter holds it before sending. */
  record Desc(List<String> keysAndValues, Long hitsAddend, Integer overrideRequestsPerUnit, RateLimitUnit overrideUnit) {
    /** This descriptor with its own {@code hits_addend}. */
    Desc hits(long hits) {
      return new Desc(keysAndValues, hits, overrideRequestsPerUnit, overrideUnit);
    }

    /** This descriptor with a {@code RateLimitOverride}. */
    Desc limit(int requestsPerUnit, RateLimitUnit unit) {
      return new Desc(keysAndValues, hitsAddend, requestsPerUnit, unit);
    }
  }

  /** A descriptor of alternating keys and values, e.g. {@code desc("remote_address", "10.0.0.1")}. */
  static Desc desc(String... keysAndValues) {
    return new Desc(List.of(keysAndValues), null, null, null);
  }

  /** A request with the filter's {@code hits_addend} unset (0). */
  static RateLimitRequest request(String domain, Desc... descriptors) {
    return request(domain, 0, descriptors);
  }

  static RateLimitRequest request(String domain, int hitsAddend, Desc... descriptors) {
    RateLimitRequest.Builder request = RateLimitRequest.newBuilder().setDomain(domain);
    for (Desc d : descriptors) {
      RateLimitDescriptor.Builder descriptor = RateLimitDescriptor.newBuilder();
      List<String> kv = new ArrayList<>(d.keysAndValues());
      for (int i = 0; i < kv.size(); i += 2) {
        descriptor.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(kv.get(i)).setValue(kv.get(i + 1)));
      }
      if (d.overrideRequestsPerUnit() != null) {
        descriptor.setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder()
            .setRequestsPerUnit(d.overrideRequestsPerUnit()).setUnit(d.overrideUnit()));
      }
      if (d.hitsAddend() != null) {
        descriptor.setHitsAddend(UInt64Value.of(d.hitsAddend()));
      }
      request.addDescriptors(descriptor);
    }
    return request.setHitsAddend(hitsAddend).build();
  }
}

package dev.meshguard.authz;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code meshguard_authz_custom_provider_calls_total{provider,outcome}} (outcome: allow, deny,
 * error, timeout) and {@code meshguard_authz_custom_provider_duration_seconds{provider}}.
 * Providers come from the mesh config, so the series are few; past {@link #MAX_PROVIDERS} they
 * count under {@code provider="other"}.
 */
final class CustomProviderMetrics {

  static final int MAX_PROVIDERS = 256;

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> calls = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> durations = new ConcurrentHashMap<>();

  CustomProviderMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void call(String provider, ProviderVerdict.Kind outcome, long nanos) {
    String name = durations.containsKey(provider) || durations.size() < MAX_PROVIDERS ? provider : "other";
    calls.computeIfAbsent(name + '\0' + outcome.tag(), k -> Counter.builder("meshguard.authz.custom.provider.calls")
        .description("Calls to CUSTOM (ext_authz) providers by provider and outcome")
        .tag("provider", name).tag("outcome", outcome.tag()).register(registry)).increment();
    durations.computeIfAbsent(name, p -> Timer.builder("meshguard.authz.custom.provider.duration")
        .description("Time of one call to a CUSTOM provider, failures included")
        .tag("provider", p).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }
}

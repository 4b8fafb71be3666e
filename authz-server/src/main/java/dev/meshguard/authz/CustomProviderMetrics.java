package dev.meshguard.authz;

import dev.meshguard.core.tls.ClientTls;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code meshguard_authz_custom_provider_calls_total{provider,outcome}} (outcome: allow, deny,
 * error, timeout) and {@code meshguard_authz_custom_provider_duration_seconds{provider}}.
 * Providers come from the mesh config, so the series are few; past {@link #MAX_PROVIDERS} they
 * count under {@code provider="other"}.
 *
 * <p>{@code meshguard_authz_custom_provider_tls_reloads_total{provider,result}} (result: ok, failed)
 * counts changes of a provider's TLS files that were loaded, and those refused (each distinct
 * problem once); registered for each provider named in {@code authz.custom_provider_tls}.
 */
final class CustomProviderMetrics {

  static final int MAX_PROVIDERS = 256;

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> calls = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> durations = new ConcurrentHashMap<>();

  CustomProviderMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void tlsReloads(String provider, ClientTls tls) {
    FunctionCounter.builder("meshguard.authz.custom.provider.tls.reloads", tls, t -> t.generation() - 1)
        .description("Changes of a CUSTOM provider's TLS files: loaded (ok) or refused, the last good kept (failed)")
        .tag("provider", provider).tag("result", "ok").register(registry);
    FunctionCounter.builder("meshguard.authz.custom.provider.tls.reloads", tls, ClientTls::reloadFailures)
        .description("Changes of a CUSTOM provider's TLS files: loaded (ok) or refused, the last good kept (failed)")
        .tag("provider", provider).tag("result", "failed").register(registry);
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

package dev.meshguard.audit;

import dev.meshguard.audit.sink.AuditSinksConfig;
import dev.meshguard.core.config.Range;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code audit:} section of a server's config file (keys in snake_case):
 * <pre>{@code
 * audit:
 *   directory: ./meshguard-data/audit
 *   durability: {authz: buffered, ratelimit: buffered, ca: durable}
 *   queue_capacity: 65536
 *   max_wait_when_full: 50ms
 *   max_segment_bytes: 67108864
 *   max_segment_age: 1h
 *   checkpoint_every_events: 10000
 *   checkpoint_interval: 60s
 *   checkpoint_key: /etc/meshguard/audit-key.pem   # default: <directory>/checkpoint-key.pem
 *   mask_headers: [authorization, cookie, set-cookie, proxy-authorization, x-api-key]
 *   mask_query_parameters: [token, access_token]
 *   mask_jwt_signatures: true
 *   sinks: {stdout: false, http: {url: https://collector.example/v1/audit}}
 * }</pre>
 */
public record AuditConfig(
    Path directory,
    Map<String, Durability> durability,
    @Range(min = "1") int queueCapacity,
    @Range(min = "0s", max = "10s") Duration maxWaitWhenFull,
    @Range(min = "1024") long maxSegmentBytes,
    @Range(min = "1s") Duration maxSegmentAge,
    @Range(min = "1") long checkpointEveryEvents,
    @Range(min = "1s") Duration checkpointInterval,
    Path checkpointKey,
    List<String> maskHeaders,
    List<String> maskQueryParameters,
    boolean maskJwtSignatures,
    AuditSinksConfig sinks) {

  /** Durability per component when the config says nothing: issuances wait for the disk. */
  public static final Map<String, Durability> DEFAULT_DURABILITY =
      Map.of("authz", Durability.BUFFERED, "ratelimit", Durability.BUFFERED, "ca", Durability.DURABLE,
          "meshguard", Durability.DURABLE);

  public static final AuditConfig DEFAULTS = new AuditConfig(Path.of(AuditOptions.DEFAULT_DIRECTORY),
      DEFAULT_DURABILITY, AuditOptions.DEFAULT_QUEUE_CAPACITY, AuditOptions.DEFAULT_MAX_WAIT_WHEN_FULL,
      AuditOptions.DEFAULT_MAX_SEGMENT_BYTES, AuditOptions.DEFAULT_MAX_SEGMENT_AGE,
      AuditOptions.DEFAULT_CHECKPOINT_EVERY_EVENTS, AuditOptions.DEFAULT_CHECKPOINT_INTERVAL, null,
      List.copyOf(Masking.DEFAULT_HEADERS.stream().sorted().toList()), List.of(), true, AuditSinksConfig.DEFAULTS);

  public AuditConfig {
    durability = durability == null ? DEFAULT_DURABILITY : Map.copyOf(durability);
    maskHeaders = List.copyOf(maskHeaders);
    maskQueryParameters = List.copyOf(maskQueryParameters);
    sinks = sinks == null ? AuditSinksConfig.DEFAULTS : sinks;
  }

  /** The durability of {@code component}'s events: configured, else the default (buffered). */
  public Durability durabilityOf(String component) {
    return durability.getOrDefault(component, DEFAULT_DURABILITY.getOrDefault(component, Durability.BUFFERED));
  }

  public AuditOptions toOptions() {
    return AuditOptions.builder(directory)
        .queueCapacity(queueCapacity)
        .maxWaitWhenFull(maxWaitWhenFull)
        .maxSegmentBytes(maxSegmentBytes)
        .maxSegmentAge(maxSegmentAge)
        .checkpointEveryEvents(checkpointEveryEvents)
        .checkpointInterval(checkpointInterval)
        .checkpointKey(checkpointKey)
        .masking(new Masking(Set.copyOf(maskHeaders), Set.copyOf(maskQueryParameters), maskJwtSignatures))
        .build();
  }
}

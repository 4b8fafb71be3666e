package dev.meshguard.core.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * The JSON body of {@code /status} (keys in snake_case):
 * <pre>{@code
 * {"component":"up","version":"0.1.0","revision":null,"fips_mode":false,"ready":true,
 *  "started_at":"2026-11-28T07:35:25.123Z",
 *  "components":[{"component":"admin","ready":true,"endpoints":{"http":"127.0.0.1:9090"}}]}
 * }</pre>
 * {@code revision} is the single component's revision when the process runs one component, and
 * absent when it runs several (each component then carries its own).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record StatusDocument(
    String component,
    String version,
    String revision,
    boolean fipsMode,
    boolean ready,
    Instant startedAt,
    List<ComponentStatus> components) {

  StatusDocument {
    components = List.copyOf(components);
  }
}

package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.util.List;
import java.util.Objects;

/**
 * A validated set of policies, as loaded from files: the unit that is compiled, bundled and
 * swapped atomically.
 *
 * @param authorizationPolicies sorted by namespace, then name (deterministic)
 * @param requestAuthentications sorted by namespace, then name
 * @param revision a content digest of the normalised policies: equal sets have equal revisions,
 *     whatever the file layout or order
 * @param warnings what Istio's webhook or {@code istioctl analyze} would warn about
 * @param notes resources that were skipped (other kinds), one line each with file:line
 */
public record PolicySet(
    List<AuthorizationPolicy> authorizationPolicies,
    List<RequestAuthentication> requestAuthentications,
    String revision,
    List<ConfigError> warnings,
    List<String> notes) {

  public PolicySet {
    authorizationPolicies = List.copyOf(authorizationPolicies);
    requestAuthentications = List.copyOf(requestAuthentications);
    Objects.requireNonNull(revision, "revision");
    warnings = List.copyOf(warnings);
    notes = List.copyOf(notes);
  }
}

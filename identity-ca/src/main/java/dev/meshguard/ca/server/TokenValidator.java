package dev.meshguard.ca.server;

/**
 * Checks a Kubernetes service-account token of one cluster. Implementations never throw: every
 * outcome, failures to check included, is a {@link TokenCheck}.
 */
@FunctionalInterface
interface TokenValidator {
  TokenCheck check(String token);
}
